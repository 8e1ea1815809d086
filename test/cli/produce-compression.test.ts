/**
 * `rill produce --compression` with every codec (the compiled CLI as a child process, against
 * a real broker): the batches are stored with that codec and read back line for line; a codec
 * rill does not have is refused before anything is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { COMPRESSION_TYPES } from '../../protocol/compression/index.js';
import { LOG_OVERHEAD, compressionOf, readBatchHeader } from '../../protocol/record-batch.js';
import { isOneLineError, rill } from '../integration/cli-run.js';
import { TestEnv } from '../integration/harness.js';

const LINES = 60;

describe('rill produce --compression', () => {
  const env = new TestEnv();
  afterEach(() => env.cleanup());

  it('sends batches with each codec, stored as sent and read back', async () => {
    const broker = await env.broker();
    const client = env.client(broker.port);
    for (const codec of COMPRESSION_TYPES) {
      const topic = `cli-${codec}`;
      const lines = Array.from({ length: LINES }, (_, i) => `${codec} line ${i} ${'x'.repeat(i % 7)}`);
      const produced = await rill(['produce', topic, '--compression', codec, '--partition', '0', '--brokers', `127.0.0.1:${broker.port}`], lines.join('\n') + '\n');
      expect(produced.stderr).toBe('');
      expect(produced.code).toBe(0);
      expect(produced.stdout).toContain(`produced ${LINES} message(s) to '${topic}'`);

      const stored = Buffer.from((await broker.context.topics.partitionLog(topic, 0)!.read(0, 1 << 20)).records);
      const codecs = new Set<string>();
      for (let pos = 0; pos < stored.length;) {
        const header = readBatchHeader(stored, pos);
        codecs.add(compressionOf(header.attributes));
        pos += LOG_OVERHEAD + header.batchLength;
      }
      expect([...codecs]).toEqual([codec]);

      const consumer = client.consumer({ maxWaitMs: 50 });
      consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
      const values: string[] = [];
      try {
        for await (const m of consumer) {
          values.push(m.value!.toString());
          if (values.length === LINES) break;
        }
      } finally {
        await consumer.close();
      }
      expect(values).toEqual(lines);
    }
  });

  it('refuses a codec it does not have, listing the ones it has', async () => {
    const bad = await rill(['produce', 'never', '--compression', 'brotli', '--brokers', '127.0.0.1:1'], 'a\n');
    expect(isOneLineError(bad)).toBe(true);
    expect(bad.stderr).toMatch(/^error: option '--compression <codec>' argument 'brotli' is invalid\. Allowed choices are none, gzip, snappy, lz4, zstd\.\n$/);
  });
});
