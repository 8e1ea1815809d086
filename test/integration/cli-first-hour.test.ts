/**
 * Issue 7, "what a new user hits in the first hour", as the user hits it: child processes of
 * the compiled CLI against a real broker. A consumer piped into a reader that closes early, bad
 * benchmark options, a group consumer of a missing topic, topics without --partitions, binary
 * keys and values, error wording, and --brokers before the subcommand.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Admin } from '../../client/admin/admin.js';
import { CLI, ROOT, collect, isOneLineError, rill, spawnNode, type CliResult } from './cli-run.js';
import { TestEnv, waitFor } from './harness.js';

const MESSAGES = 20_000;

/**
 * `rill consume ... | head -3` without a shell: reads the child's stdout until `lines` lines
 * arrived, then closes its end of the pipe. Returns the lines it read and how the child ended.
 */
async function consumeIntoClosingReader(args: string[], lines: number): Promise<{ received: string[]; result: CliResult }> {
  const child = spawnNode(CLI, args);
  let buffered = '';
  const received: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    if (received.length >= lines) return;
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    received.push(...parts.slice(0, lines - received.length));
    // The reader is done: its end of the pipe goes away, as when `head` exits.
    if (received.length >= lines) child.stdout.destroy();
  });
  child.stdin.end();
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rill ${args.join(' ')} did not exit after its reader closed; stderr: ${stderr}`));
    }, 30_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { received, result: { code, stdout: '', stderr } };
}

describe('rill CLI: the first hour', () => {
  const env = new TestEnv();
  let brokers: string[];
  let address: string;
  let admin: Admin;

  beforeEach(async () => {
    // A long session timeout: a member that did not leave would block --execute for 45 s.
    const broker = await env.broker({ 'num.partitions': 5, 'group.consumer.session.timeout.ms': 45_000, 'auto.create.topics.enable': false });
    address = `127.0.0.1:${broker.port}`;
    brokers = ['--brokers', address];
    const client = env.client(broker.port);
    admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });
    const producer = client.producer({ lingerMs: 0 });
    for (let i = 0; i < MESSAGES; i += 1_000) {
      await producer.send({ topic: 'orders', messages: Array.from({ length: 1_000 }, (_, j) => ({ value: `order-${i + j}` })) });
    }
  });

  afterEach(async () => {
    await env.cleanup();
  });

  it('ends `consume --group | head -3` cleanly: exit 0, what was printed committed, the group left', async () => {
    const { received, result } = await consumeIntoClosingReader(['consume', 'orders', '--group', 'g', '--from-beginning', ...brokers], 3);
    expect(received).toEqual(['order-0', 'order-1', 'order-2']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    // Committed: every message written into the pipe (the reader saw at least 3; the rest sat in
    // the pipe when it closed), and not all of them: the consumer stopped at the closed pipe.
    const [t] = await admin.fetchOffsets('g', ['orders']);
    const committedOffset = t!.partitions[0]!.offset!;
    expect(committedOffset).toBeGreaterThanOrEqual(3);
    expect(committedOffset).toBeLessThan(MESSAGES);
    // The member left: --execute is accepted at once, not after the 45 s session timeout.
    const reset = await rill(['groups', 'reset-offsets', '--group', 'g', '--topic', 'orders', '--to-earliest', '--execute', ...brokers]);
    expect(reset, reset.stderr).toMatchObject({ code: 0, stderr: '' });
    // The next member of the group starts where the commit said: nothing printed is read twice.
    await admin.resetOffsets({ groupId: 'g', topics: [{ topic: 'orders' }], strategy: { toOffset: committedOffset }, execute: true });
    const next = await rill(['consume', 'orders', '--group', 'g', '--max-messages', '1', ...brokers]);
    expect(next).toMatchObject({ code: 0, stdout: `order-${committedOffset}\n`, stderr: '' });
  });

  it('ends `consume | head -3` without a group cleanly too', async () => {
    const { received, result } = await consumeIntoClosingReader(['consume', 'orders', '--from-beginning', '--format', 'json', ...brokers], 3);
    expect(received.map((l) => (JSON.parse(l) as { value: string }).value)).toEqual(['order-0', 'order-1', 'order-2']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('ends `consume --group` on Ctrl-C: exit 0, the group left at once', async () => {
    const child = spawnNode(CLI, ['consume', 'orders', '--group', 'ctrl-c', '--from-beginning', ...brokers]);
    let printed = '';
    child.stdout.on('data', (d: Buffer) => (printed += d.toString()));
    const done = collect(child, 'rill consume --group ctrl-c');
    await waitFor(() => printed.includes('\n'), 20_000, 'a first message');
    child.kill('SIGINT');
    expect(await done).toMatchObject({ code: 0, stderr: '' });
    const reset = await rill(['groups', 'reset-offsets', '--group', 'ctrl-c', '--topic', 'orders', '--to-earliest', '--execute', ...brokers]);
    expect(reset, reset.stderr).toMatchObject({ code: 0, stderr: '' });
  });

  it('ends `produce` on Ctrl-C: what was read is sent and summed up, exit 0', async () => {
    await admin.createTopics({ topics: [{ topic: 'typed', numPartitions: 1 }] });
    const child = spawnNode(CLI, ['produce', 'typed', ...brokers]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // stdin stays open, as at a terminal: only Ctrl-C ends the input.
    child.stdin.write('one\ntwo\nthree\n');
    await waitFor(async () => (await admin.describeTopics({ topics: ['typed'] }))[0]!.partitions[0]!.logEndOffset === 3, 20_000, 'three messages');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain("produced 3 message(s) to 'typed'");
  });

  it('says a consumed topic does not exist, with --group as without', async () => {
    for (const extra of [['--group', 'g'], []]) {
      const r = await rill(['consume', 'nosuchtopic', ...extra, ...brokers]);
      expect(r, extra.join(' ')).toEqual({ code: 1, stdout: '', stderr: "error: UNKNOWN_TOPIC_OR_PARTITION: topic 'nosuchtopic' does not exist\n" });
    }
  });

  it("creates a topic with the broker's num.partitions when --partitions is omitted", async () => {
    const created = await rill(['topics', 'create', 'defaulted', ...brokers]);
    expect(created).toEqual({ code: 0, stdout: "created topic 'defaulted' with 5 partition(s)\n", stderr: '' });
    const [d] = await admin.describeTopics({ topics: ['defaulted'] });
    expect(d!.partitions).toHaveLength(5);
  });

  it('prints keys, values and header values that are not UTF-8 as base64 or hex on request', async () => {
    const client = env.client(Number(address.split(':')[1]));
    await admin.createTopics({ topics: [{ topic: 'binary', numPartitions: 1 }] });
    const key = Buffer.from([0xff, 0x00, 0x80]);
    const value = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xc3]);
    await client.producer().send({ topic: 'binary', messages: [{ key, value, headers: { h: Buffer.from([0xfe]) } }] });
    const json = await rill(['consume', 'binary', '--from-beginning', '--max-messages', '1', '--format', 'json', '--key-format', 'hex', '--value-format', 'base64', ...brokers]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ key: 'ff0080', value: value.toString('base64'), headers: { h: '/g==' } });
    const text = await rill(['consume', 'binary', '--from-beginning', '--max-messages', '1', '--value-format', 'hex', ...brokers]);
    expect(text).toEqual({ code: 0, stdout: 'deadbeefc3\n', stderr: '' });
    // The default stays UTF-8 text, as before.
    const lossy = await rill(['consume', 'binary', '--from-beginning', '--max-messages', '1', ...brokers]);
    expect(lossy.stdout).toBe(value.toString('utf8') + '\n');
    const bad = await rill(['consume', 'binary', '--value-format', 'bytes', ...brokers]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: option '--value-format <format>' argument 'bytes' is invalid\. Allowed choices are text, base64, hex\.\n$/);
  });

  it('accepts --brokers before the subcommand, after it, and from RILL_BROKERS', async () => {
    const before = await rill(['--brokers', address, 'topics', 'list']);
    expect(before).toMatchObject({ code: 0, stderr: '' });
    expect(before.stdout.split('\n')).toContain('orders');
    expect(await rill(['topics', 'list', '--brokers', address])).toEqual(before);
    expect(await rill(['topics', 'list'], undefined, 20_000, { RILL_BROKERS: address })).toEqual(before);
    // The flag wins over the environment.
    expect(await rill(['--brokers', address, 'topics', 'list'], undefined, 20_000, { RILL_BROKERS: '127.0.0.1:1' })).toEqual(before);
  });

  it('words errors with their code and the CLI flags', async () => {
    const partition = await rill(['consume', 'orders', '--partition', '99', ...brokers]);
    expect(partition).toEqual({ code: 1, stdout: '', stderr: "error: UNKNOWN_TOPIC_OR_PARTITION: topic 'orders' has 1 partition(s); partition 99 does not exist\n" });

    const shift = await rill(['groups', 'reset-offsets', '--group', 'fresh', '--topic', 'orders', '--shift-by', '-5', ...brokers]);
    expect(isOneLineError(shift), shift.stderr).toBe(true);
    expect(shift.stderr).toMatch(/^error: INVALID_REQUEST: cannot shift orders\[0\]/);
    expect(shift.stderr).not.toMatch(/toEarliest|toLatest|toOffset/);

    const unknownGroup = await rill(['groups', 'reset-offsets', '--group', 'nosuchgroup', '--all-topics', '--to-earliest', '--execute', ...brokers]);
    expect(unknownGroup).toEqual({ code: 1, stdout: '', stderr: "error: GROUP_ID_NOT_FOUND: group 'nosuchgroup' has no committed offsets (in topics that still exist); nothing to reset\n" });

    // Messages the CLI and the SDK write say "topic 'x'", lower case.
    const missing = await rill(['topics', 'delete', 'nosuchtopic', ...brokers]);
    expect(isOneLineError(missing)).toBe(true);
    expect(missing.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: /);
  });

  it('reports usage mistakes of every command as one line and a non-zero exit', { timeout: 180_000 }, async () => {
    const cases: string[][] = [
      ['topics', 'create'],
      ['topics', 'create', 'x', '--partitions', '0'],
      ['topics', 'create', 'x', '--partitions', 'many'],
      ['topics', 'create', 'x', '--config', 'novalue'],
      ['topics', 'alter', 'orders'],
      ['topics', 'frobnicate'],
      ['produce'],
      ['produce', 'orders', '--acks', '2'],
      ['produce', 'orders', '--key', 'k', '--key-separator', ':'],
      ['consume', 'orders', '--max-messages', '0'],
      ['consume', 'orders', '--offset', '3'],
      ['consume', 'orders', '--group', 'g', '--partition', '0'],
      ['consume', 'orders', '--bogus'],
      ['groups', 'list', '--state', 'sleepy'],
      ['broker', 'start', '--port', 'http'],
      ['--brokers', '', 'topics', 'list'],
      ['nosuchcommand'],
    ];
    // Four CLI processes at a time: seventeen at once on a loaded 2-core machine each take
    // longer than the per-process timeout.
    const results: Awaited<ReturnType<typeof rill>>[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      const slice = cases.slice(i, i + 4);
      results.push(...(await Promise.all(slice.map((args) => rill([...args, ...(args[0] === '--brokers' || args[0] === 'broker' ? [] : brokers)], undefined, 60_000)))));
    }
    results.forEach((r, i) => expect(isOneLineError(r), `${cases[i]!.join(' ')}: ${JSON.stringify(r)}`).toBe(true));
  });

  it('checks bench options before starting anything, in one line', async () => {
    for (const [args, why] of [
      [['--bogus=1'], /^error: unknown bench option '--bogus' \(rill bench --help lists them\)\n$/],
      [['--messages=abc'], /^error: --messages must be an integer >= 1, got 'abc'\n$/],
      [['--phases=consume'], /^error: --phases: consume reads what produce wrote; add produce\n$/],
      [['e2e'], /^error: unexpected argument 'e2e'/],
    ] as Array<[string[], RegExp]>) {
      const r = await rill(['bench', ...args]);
      expect(isOneLineError(r), JSON.stringify(r)).toBe(true);
      expect(r.stderr).toMatch(why);
    }
    const help = await rill(['bench', '--help']);
    expect(help.code).toBe(0);
    for (const opt of ['--messages=N', '--rate=N', '--phases=LIST', '--json=FILE']) expect(help.stdout).toContain(opt);
  });

  it('gives `npm run bench` (bench/run.js) a help and one-line errors', async () => {
    const runJs = join(ROOT, 'dist', 'bench', 'run.js');
    const help = await collect(spawnNode(runJs, ['--help']), 'run.js --help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench/);
    expect(help.stdout).not.toContain('## crc');
    const unknown = await collect(spawnNode(runJs, ['nosuch']), 'run.js nosuch');
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^error: unknown benchmark 'nosuch'; available: .*e2e.*\n$/);
    const badOption = await collect(spawnNode(runJs, ['e2e', '--messages=abc']), 'run.js e2e --messages=abc');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toBe("error: e2e: --messages must be an integer >= 1, got 'abc'\n");
  });

  it('shows no progress when stderr is not a terminal', async () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const produced = await rill(['produce', 'orders', ...brokers], lines, 60_000);
    expect(produced).toMatchObject({ code: 0, stderr: '' });
    expect(produced.stdout).toContain("produced 5000 message(s) to 'orders'");
  });
});
