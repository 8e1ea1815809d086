/**
 * `rill broker start --kafka-port`: the compiled CLI (dist/) as a child process announces the
 * Kafka port in its listening line, and raw Kafka requests are answered there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaApiKey } from '../../protocol/kafka/index.js';
import { CLI } from '../integration/cli-run.js';
import { TestEnv } from '../integration/harness.js';
import { RawKafkaClient } from './raw-kafka-client.js';

describe('rill broker start --kafka-port', () => {
  const env = new TestEnv();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await env.cleanup();
  });

  it('listens on the Kafka port, reports it, and stops cleanly on SIGTERM', async () => {
    const dataDir = await env.tempDir();
    const child = spawn(process.execPath, [CLI, 'broker', 'start', '--data-dir', dataDir, '--port', '0', '--kafka-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => stderr += `\n(exited with ${code})`);
    // The first stdout line is the listening announcement ('' when stdout ends without one).
    const lines = createInterface({ input: child.stdout });
    const [line] = (await Promise.race([once(lines, 'line'), once(lines, 'close').then(() => [''])])) as [string];
    expect(line, stderr).not.toBe('');
    const listening = JSON.parse(line) as { event: string; port: number; kafkaPort: number };
    expect(listening.event).toBe('listening');
    expect(listening.kafkaPort).toBeGreaterThan(0);
    expect(listening.kafkaPort).not.toBe(listening.port);

    const c = await RawKafkaClient.connect(listening.kafkaPort);
    const r = await c.request(KafkaApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(r.body.brokers).toMatchObject([{ nodeId: 0, host: '127.0.0.1', port: listening.kafkaPort }]);
    await c.close();

    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
