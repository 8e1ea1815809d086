/**
 * `rill groups ...` as an operator runs it: child processes of the compiled CLI (dist/, built
 * by `npm test`'s pretest) against a real broker. The live member of the refusal test is a
 * raw heartbeat loop (test/broker-groups/wire.ts); `rill consume --group` is the SDK's group
 * consumer.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Admin } from '../../client/admin/admin.js';
import { connectClient, OwnershipLedger, WireMember } from '../broker-groups/wire.js';
import type { RawClient } from '../helpers/raw-client.js';
import { rill as run, type CliResult as Result } from './cli-run.js';
import { TestEnv, waitFor } from './harness.js';

const TOPIC = 'events';
const PER_PARTITION = 10;

function rill(args: string[], timeoutMs = 20_000): Promise<Result> {
  return run(args, undefined, timeoutMs);
}

/** The table's rows as arrays of cells (header first); checks the columns are aligned. */
function rowsOf(text: string): string[][] {
  const lines = text.trimEnd().split('\n');
  const header = lines[0]!;
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  for (const line of lines.slice(1)) {
    for (const s of starts.slice(1)) expect(line[s - 1], `column at ${s} in '${line}'`).toBe(' ');
  }
  return lines.map((l) => l.trim().split(/\s+/));
}

async function committed(admin: Admin, groupId: string): Promise<Array<[number, number | null]>> {
  const [t] = await admin.fetchOffsets(groupId, [TOPIC]);
  return t!.partitions.map((p): [number, number | null] => [p.partition, p.offset]);
}

describe('rill groups', () => {
  const env = new TestEnv();
  let brokers: string[];
  let port: number;
  let admin: Admin;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    const broker = await env.broker({ 'offsets.topic.num.partitions': 2, 'group.consumer.session.timeout.ms': 10_000, 'group.consumer.heartbeat.interval.ms': 200 });
    port = broker.port;
    brokers = ['--brokers', `127.0.0.1:${port}`];
    const client = env.client(port);
    admin = client.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] });
    const producer = client.producer({ lingerMs: 0 });
    for (let p = 0; p < 2; p++) await producer.send({ topic: TOPIC, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ value: `e${i}`, partition: p })) });
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c().catch(() => undefined);
    await env.cleanup();
  });

  it('explains the group commands', async () => {
    const help = await rill(['groups', '--help']);
    expect(help.code).toBe(0);
    for (const sub of ['list', 'describe', 'delete', 'reset-offsets']) expect(help.stdout).toContain(sub);
    const reset = await rill(['groups', 'reset-offsets', '--help']);
    for (const opt of ['--group', '--topic', '--all-topics', '--to-earliest', '--to-latest', '--to-current', '--to-offset', '--shift-by', '--to-datetime', '--by-duration', '--from-file', '--dry-run', '--execute', '--export']) {
      expect(reset.stdout).toContain(opt);
    }
  });

  it('lists, describes and deletes groups', async () => {
    expect(await rill(['groups', 'list', ...brokers])).toEqual({ code: 0, stdout: '', stderr: '' });
    await admin.resetOffsets({ groupId: 'billing', topics: [{ topic: TOPIC, partitions: [1] }], strategy: { toOffset: 3 }, execute: true });
    await admin.resetOffsets({ groupId: 'audit', topics: [{ topic: TOPIC }], strategy: { toLatest: true }, execute: true });

    expect(await rill(['groups', 'list', ...brokers])).toEqual({ code: 0, stdout: 'audit\nbilling\n', stderr: '' });
    const states = await rill(['groups', 'list', '--state', ...brokers]);
    expect(rowsOf(states.stdout)).toEqual([
      ['GROUP', 'STATE'],
      ['audit', 'empty'],
      ['billing', 'empty'],
    ]);
    expect((await rill(['groups', 'list', '--state', 'stable', ...brokers])).stdout).toBe('GROUP  STATE\n');

    const described = await rill(['groups', 'describe', 'billing', ...brokers]);
    expect(described.code).toBe(0);
    const [summary, ...table] = described.stdout.split('\n');
    expect(summary).toBe('Group: billing  State: empty  Members: 0');
    expect(rowsOf(table.join('\n'))).toEqual([
      ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      ['billing', TOPIC, '1', '3', String(PER_PARTITION), String(PER_PARTITION - 3), '-', '-', '-'],
    ]);

    expect(await rill(['groups', 'delete', 'billing', ...brokers])).toEqual({ code: 0, stdout: "deleted group 'billing'\n", stderr: '' });
    expect((await rill(['groups', 'list', ...brokers])).stdout).toBe('audit\n');
    const again = await rill(['groups', 'delete', 'billing', ...brokers]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: GROUP_ID_NOT_FOUND: group 'billing' does not exist\n");
    const missing = await rill(['groups', 'describe', 'billing', ...brokers]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^error: GROUP_ID_NOT_FOUND: group 'billing' does not exist/);
  });

  it('plans by default, executes with --execute, and round-trips --export through --from-file', async () => {
    const g = ['--group', 'replay'];
    const dry = await rill(['groups', 'reset-offsets', ...g, '--topic', TOPIC, '--to-offset', '4', ...brokers]);
    expect(dry.code).toBe(0);
    expect(rowsOf(dry.stdout)).toEqual([
      ['TOPIC', 'PARTITION', 'OLD-OFFSET', 'NEW-OFFSET'],
      [TOPIC, '0', '-', '4'],
      [TOPIC, '1', '-', '4'],
    ]);
    expect(dry.stderr).toBe('dry run: nothing was changed; add --execute to apply this plan\n');
    expect(await committed(admin, 'replay')).toEqual([
      [0, null],
      [1, null],
    ]);

    const done = await rill(['groups', 'reset-offsets', ...g, '--topic', TOPIC, '--to-offset', '4', '--execute', ...brokers]);
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(rowsOf(done.stdout)[1]).toEqual([TOPIC, '0', '-', '4']);
    expect(await committed(admin, 'replay')).toEqual([
      [0, 4],
      [1, 4],
    ]);

    // Negative shift (as a separate argument), on one partition; --dry-run said explicitly.
    const shifted = await rill(['groups', 'reset-offsets', ...g, '--topic', `${TOPIC}:1`, '--shift-by', '-3', '--dry-run', ...brokers]);
    expect(rowsOf(shifted.stdout).slice(1)).toEqual([[TOPIC, '1', '4', '1']]);

    // --export prints the CSV --from-file reads; executing it reproduces the plan.
    const exported = await rill(['groups', 'reset-offsets', ...g, '--all-topics', '--by-duration', 'P1D', '--export', ...brokers]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(`${TOPIC},0,0\n${TOPIC},1,0\n`);
    const dir = await env.tempDir('rill-groups-cli-');
    const plan = join(dir, 'plan.csv');
    await writeFile(plan, exported.stdout.replace(`${TOPIC},1,0`, `${TOPIC},1,7`));
    const fromFile = await rill(['groups', 'reset-offsets', ...g, '--from-file', plan, '--execute', ...brokers]);
    expect(fromFile.code).toBe(0);
    expect(rowsOf(fromFile.stdout).slice(1)).toEqual([
      [TOPIC, '0', '4', '0'],
      [TOPIC, '1', '4', '7'],
    ]);
    expect(await committed(admin, 'replay')).toEqual([
      [0, 0],
      [1, 7],
    ]);
    // A scope filters the file.
    const filtered = await rill(['groups', 'reset-offsets', ...g, '--topic', `${TOPIC}:1`, '--from-file', plan, '--export', ...brokers]);
    expect(filtered.stdout).toBe(`${TOPIC},1,7\n`);
    // To a time after every record: the log end; to latest: the same.
    const later = await rill(['groups', 'reset-offsets', ...g, '--all-topics', '--to-datetime', new Date(Date.now() + 60_000).toISOString(), '--export', ...brokers]);
    expect(later.stdout).toBe(`${TOPIC},0,${PER_PARTITION}\n${TOPIC},1,${PER_PARTITION}\n`);
    const current = await rill(['groups', 'reset-offsets', ...g, '--all-topics', '--to-current', '--export', ...brokers]);
    expect(current.stdout).toBe(`${TOPIC},0,0\n${TOPIC},1,7\n`);
    const earliest = await rill(['groups', 'reset-offsets', ...g, '--all-topics', '--to-earliest', '--export', ...brokers]);
    expect(earliest.stdout).toBe(`${TOPIC},0,0\n${TOPIC},1,0\n`);
    const latest = await rill(['groups', 'reset-offsets', ...g, '--all-topics', '--to-latest', '--export', ...brokers]);
    expect(latest.stdout).toBe(`${TOPIC},0,${PER_PARTITION}\n${TOPIC},1,${PER_PARTITION}\n`);
  });

  it('refuses to execute, with one line, while the group has a live member', async () => {
    await admin.resetOffsets({ groupId: 'busy', topics: [{ topic: TOPIC }], strategy: { toOffset: 2 }, execute: true });
    const client: RawClient = await connectClient(port, 'busy-consumer');
    const member = new WireMember('m1', client, new OwnershipLedger(), [TOPIC], 'busy');
    await member.heartbeat();
    const timer = setInterval(() => void member.heartbeat().catch(() => undefined), 200);
    cleanups.push(async () => {
      clearInterval(timer);
      await client.close();
    });
    await waitFor(async () => (await admin.describeGroup('busy')).state === 'stable', 5_000, 'the group to be stable');

    const described = await rill(['groups', 'describe', 'busy', ...brokers]);
    const rows = rowsOf(described.stdout.split('\n').slice(1).join('\n'));
    expect(rows.slice(1).map((r) => [r[2], r[3], r[6], r[8]])).toEqual([
      ['0', '2', member.memberId, 'busy-consumer'],
      ['1', '2', member.memberId, 'busy-consumer'],
    ]);
    expect(rows[1]![7]).toContain('127.0.0.1');

    const dry = await rill(['groups', 'reset-offsets', '--group', 'busy', '--topic', TOPIC, '--to-earliest', ...brokers]);
    expect(dry.code).toBe(0);
    expect(rowsOf(dry.stdout).slice(1)).toEqual([
      [TOPIC, '0', '2', '0'],
      [TOPIC, '1', '2', '0'],
    ]);
    expect(dry.stderr).toContain("note: group 'busy' has 1 live member; --execute would be refused until it stops");

    const refused = await rill(['groups', 'reset-offsets', '--group', 'busy', '--topic', TOPIC, '--to-earliest', '--execute', ...brokers]);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: "error: NON_EMPTY_GROUP: group 'busy' has 1 live member; stop them before resetting offsets\n" });
    const notDeleted = await rill(['groups', 'delete', 'busy', ...brokers]);
    expect(notDeleted.code).toBe(1);
    expect(notDeleted.stderr).toBe("error: NON_EMPTY_GROUP: group 'busy' has 1 live member; stop them before deleting it\n");
    expect(await committed(admin, 'busy')).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });

  it('says what is wrong with the options in one line and exits non-zero', async () => {
    const base = ['groups', 'reset-offsets', ...['--brokers', '127.0.0.1:1']];
    const cases: Array<[string[], RegExp]> = [
      [['--group', 'g', '--topic', TOPIC], /^error: give exactly one of --to-earliest, .*; got none$/],
      [['--group', 'g', '--topic', TOPIC, '--to-earliest', '--to-offset', '3'], /^error: give exactly one of .*; got --to-earliest, --to-offset$/],
      [['--group', 'g', '--to-earliest'], /^error: give the scope: --topic T\[:P,P\.\.\.\] \(repeatable\) or --all-topics$/],
      [['--group', 'g', '--topic', TOPIC, '--all-topics', '--to-earliest'], /^error: give either --topic or --all-topics, not both$/],
      [['--group', 'g', '--topic', TOPIC, '--to-earliest', '--dry-run', '--execute'], /^error: give --dry-run or --execute, not both$/],
      [['--topic', TOPIC, '--to-earliest'], /^error: required option '--group <group>' not specified$/],
      [['--group', 'g', '--topic', `${TOPIC}:x`, '--to-earliest'], /invalid partition 'x'/],
      [['--group', 'g', '--topic', TOPIC, '--by-duration', 'P1M'], /invalid ISO-8601 duration 'P1M'/],
      [['--group', 'g', '--topic', TOPIC, '--to-datetime', 'yesterday'], /invalid ISO-8601 date-time 'yesterday'/],
      [['--group', 'g', '--topic', TOPIC, '--to-offset', '-1'], /--to-offset must be an integer >= 0/],
      [['--group', 'g', '--from-file', '/nonexistent/plan.csv'], /^error: cannot read plan file '\/nonexistent\/plan.csv': ENOENT$/],
    ];
    // Eleven node processes start at once: on a loaded 2-core CI machine that alone took ~20 s
    // once, so each gets more than the default 20 s (the test's own limit is 60 s).
    const results = await Promise.all(cases.map(([args]) => rill([...base, ...args], 45_000)));
    results.forEach((r, i) => {
      const [args, why] = cases[i]!;
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout, args.join(' ')).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0], args.join(' ')).toMatch(why);
    });
    // A bad plan file names its line.
    const dir = await env.tempDir('rill-groups-cli-');
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, `${TOPIC},0,1\n${TOPIC},zero,1\n`);
    const r = await rill(['groups', 'reset-offsets', '--group', 'g', '--from-file', bad, ...brokers]);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe("error: plan line 2: partition must be an integer >= 0, got 'zero'\n");
  });

  it('consume --group joins the group, commits what it printed, and replays after a reset', async () => {
    const consume = async (args: string[]): Promise<string[]> => {
      const r = await rill(['consume', TOPIC, '--group', 'cg', '--format', 'json', ...args, ...brokers]);
      expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
      return r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => {
          const m = JSON.parse(l) as { partition: number; offset: number };
          return `${m.partition}:${m.offset}`;
        });
    };
    const all = [0, 1].flatMap((p) => Array.from({ length: PER_PARTITION }, (_, o) => `${p}:${o}`)).sort();
    const first = await consume(['--from-beginning', '--max-messages', '12']);
    const second = await consume(['--max-messages', '8']);
    expect(first).toHaveLength(12);
    expect(second).toHaveLength(8);
    // Each run went on from the commit of the one before: no message twice, none missed.
    expect([...first, ...second].sort()).toEqual(all);
    expect(await committed(admin, 'cg')).toEqual([
      [0, PER_PARTITION],
      [1, PER_PARTITION],
    ]);
    // It left the group on exit: the reset is not refused.
    const reset = await rill(['groups', 'reset-offsets', '--group', 'cg', '--topic', TOPIC, '--to-earliest', '--execute', ...brokers]);
    expect(reset.code, reset.stderr).toBe(0);
    expect((await consume(['--max-messages', String(2 * PER_PARTITION)])).sort()).toEqual(all);
    const consumeHelp = await rill(['consume', '--help']);
    expect(consumeHelp.stdout).toContain('--group');
    const conflict = await rill(['consume', TOPIC, '--group', 'cg', '--partition', '0', ...brokers]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/--partition.*cannot be used with option '--group/);
  });
});
