/**
 * The `rill` command as a user runs it: child processes of the compiled CLI (dist/, built by
 * `npm test`'s pretest) against a real broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rill } from '../../client/index.js';
import { CLI, ROOT as root, rill } from './cli-run.js';
import { TestEnv, testLogger } from './harness.js';

const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('rill CLI', () => {
  const env = new TestEnv();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await env.cleanup();
  });

  it('prints its version and explains every command', async () => {
    const version = await rill(['--version']);
    expect(version.stdout.trim()).toBe(VERSION);
    const help = await rill(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['broker', 'topics', 'produce', 'consume']) expect(help.stdout).toContain(cmd);
    const topicsHelp = await rill(['topics', '--help']);
    for (const sub of ['create', 'list', 'describe', 'delete', 'alter']) expect(topicsHelp.stdout).toContain(sub);
    const consumeHelp = await rill(['consume', '--help']);
    for (const opt of ['--brokers', '--partition', '--from-beginning', '--offset', '--max-messages', '--format', '--timeout-ms']) expect(consumeHelp.stdout).toContain(opt);
  });

  it('creates, lists, describes, alters and deletes topics', async () => {
    const broker = await env.broker();
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    const created = await rill(['topics', 'create', 'cli-topic', '--partitions', '3', '--config', 'retention.ms=3600000', ...brokers]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain("created topic 'cli-topic' with 3 partition(s)");
    expect((await rill(['topics', 'list', ...brokers])).stdout.split('\n')).toContain('cli-topic');
    const described = await rill(['topics', 'describe', 'cli-topic', ...brokers]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('retention.ms=3600000');
    expect(described.stdout).toMatch(/PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+OFFLINE\s+LOG-START-OFFSET\s+LOG-END-OFFSET/);
    expect(described.stdout.trim().split('\n')).toHaveLength(2 + 3);
    const altered = await rill(['topics', 'alter', 'cli-topic', '--config', 'retention.ms=60000', ...brokers]);
    expect(altered.code).toBe(0);
    expect((await rill(['topics', 'describe', 'cli-topic', ...brokers])).stdout).toContain('retention.ms=60000');
    expect((await rill(['topics', 'delete', 'cli-topic', ...brokers])).code).toBe(0);
    expect((await rill(['topics', 'list', ...brokers])).stdout.split('\n')).not.toContain('cli-topic');
  });

  it('pipes lines into produce and reads them back with consume', async () => {
    const broker = await env.broker();
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    expect((await rill(['topics', 'create', 'lines', '--partitions', '4', ...brokers])).code).toBe(0);
    const lines = Array.from({ length: 200 }, (_, i) => `user-${i % 10}:event ${i}`);
    const produced = await rill(['produce', 'lines', '--key-separator', ':', ...brokers], lines.join('\n') + '\n');
    expect(produced.stderr).toBe('');
    expect(produced.code).toBe(0);
    expect(produced.stdout).toContain("produced 200 message(s) to 'lines'");
    expect(produced.stdout).toMatch(/partition \d: \d+ message\(s\), offsets 0\.\.\d+/);

    const consumed = await rill(['consume', 'lines', '--from-beginning', '--max-messages', '200', '--format', 'json', ...brokers]);
    expect(consumed.code).toBe(0);
    const messages = consumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { topic: string; partition: number; offset: number; key: string; value: string; headers: object; timestamp: number });
    expect(messages).toHaveLength(200);
    for (const m of messages) {
      expect(m.topic).toBe('lines');
      expect(typeof m.timestamp).toBe('number');
      expect(m.headers).toEqual({});
    }
    // Every line arrived once, and per key in the order piped in.
    expect(messages.map((m) => `${m.key}:${m.value}`).sort()).toEqual([...lines].sort());
    for (let k = 0; k < 10; k++) {
      const mine = messages.filter((m) => m.key === `user-${k}`).map((m) => m.value);
      expect(mine).toEqual(lines.filter((_, i) => i % 10 === k).map((l) => l.split(':')[1]));
    }

    // Text format, one partition, from an offset, exiting after a quiet spell.
    const text = await rill(['consume', 'lines', '--partition', String(messages[0]!.partition), '--offset', '1', '--timeout-ms', '700', ...brokers]);
    expect(text.code).toBe(0);
    const partitionValues = messages.filter((m) => m.partition === messages[0]!.partition).sort((a, b) => a.offset - b.offset).map((m) => m.value);
    expect(text.stdout.trim().split('\n')).toEqual(partitionValues.slice(1));
  });

  it('produces with a fixed key and acks, and reports errors as one line with a non-zero exit', async () => {
    const broker = await env.broker({ 'auto.create.topics.enable': false });
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    expect((await rill(['topics', 'create', 'keyed', '--partitions', '2', ...brokers])).code).toBe(0);
    const produced = await rill(['produce', 'keyed', '--key', 'fixed', '--acks', '1', ...brokers], 'a\nb\nc\n');
    expect(produced.code).toBe(0);
    expect(produced.stdout).toContain("produced 3 message(s) to 'keyed'");
    expect(produced.stdout).toMatch(/partitions (\d)\)\n\s+partition \1: 3 message\(s\), offsets 0\.\.2/);

    const missing = await rill(['consume', 'nope', '--from-beginning', ...brokers]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe("error: UNKNOWN_TOPIC_OR_PARTITION: topic 'nope' does not exist\n");

    const exists = await rill(['topics', 'create', 'keyed', '--partitions', '2', ...brokers]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^error: TOPIC_ALREADY_EXISTS: .*keyed.*\n$/);

    const badLine = await rill(['produce', 'keyed', '--key-separator', ':', ...brokers], 'k:v\nno separator here\n');
    expect(badLine.code).toBe(1);
    expect(badLine.stderr).toBe("error: line 2 has no key separator ':'\n");

    const unreachable = await rill(['topics', 'list', '--brokers', '127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^error: NETWORK_EXCEPTION: .*127\.0\.0\.1:1/);
    expect(unreachable.stderr).not.toMatch(/\bat .*\.js:\d+/);

    const badOption = await rill(['consume', 'keyed', '--format', 'xml', ...brokers]);
    expect(badOption.code).not.toBe(0);
    expect(badOption.stderr).toContain("error: option '--format <format>' argument 'xml' is invalid");
  });

  it('runs a broker with `rill broker start` that announces itself and stops cleanly on SIGTERM', async () => {
    const dataDir = await env.tempDir();
    const child = spawn(process.execPath, [CLI, 'broker', 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.on('exit', (code) => reject(new Error(`broker exited with ${code}; stderr: ${stderr}`)));
    });
    const listening = JSON.parse(line) as { event: string; host: string; port: number };
    expect(listening.event).toBe('listening');
    expect(listening.port).toBeGreaterThan(0);

    const client = new Rill({ brokers: [`127.0.0.1:${listening.port}`], logger: testLogger });
    await client.admin().createTopics({ topics: [{ topic: 'from-cli-broker', numPartitions: 1 }] });
    const [meta] = await client.producer().send({ topic: 'from-cli-broker', messages: [{ value: 'hello' }] });
    expect(meta!.offset).toBe(0);
    await client.close();

    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
