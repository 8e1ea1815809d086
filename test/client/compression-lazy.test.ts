/**
 * libzstd (WebAssembly) loads on a process's first zstd use, not when the codecs are imported
 * (protocol/compression/libzstd.ts). Every process here is fresh (compiled dist/, built by
 * `npm test`'s pretest): a broker process and SDK producer and consumer processes report
 * whether libzstd was instantiated (`libzstdLoaded()`) and whether the package was even
 * required (Node's require cache), before and after they handled batches.
 */
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, collect, spawnNode } from '../integration/cli-run.js';
import { TestEnv } from '../integration/harness.js';

/** What a child process reports of libzstd. */
interface ZstdState {
  loaded: boolean;
  required: boolean;
}

const PRELUDE = `
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.env.RILL_ROOT;
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const { libzstdLoaded } = await import(dist('protocol/compression/index.js'));
const require = createRequire(import.meta.url);
const zstdState = () => ({ loaded: libzstdLoaded(), required: Object.keys(require.cache).some((k) => k.includes('@bokuweb/zstd-wasm')) });
`;

/** A broker: prints {port, loaded, required}, then the state again for every "state" line on stdin; ends with stdin. */
const BROKER = `${PRELUDE}
import { createInterface } from 'node:readline';
const { startBroker } = await import(dist('broker/index.js'));
const broker = await startBroker({ dataDir: process.argv[2], port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ port: broker.port, ...zstdState() }));
for await (const line of createInterface({ input: process.stdin })) if (line === 'state') console.log(JSON.stringify(zstdState()));
await broker.close();
`;

/** Sends COUNT values to TOPIC partition 0 once with each codec of CODECS (comma-separated). */
const PRODUCE = `${PRELUDE}
const { Rill } = await import(dist('client/index.js'));
const [port, topic, codecs, count] = process.argv.slice(2);
const rill = new Rill({ brokers: ['127.0.0.1:' + port], clientId: 'lazy-producer', retry: { retries: 0 } });
const out = { before: zstdState(), offsets: [] };
try {
  for (const compression of codecs.split(',')) {
    const producer = rill.producer({ compression, lingerMs: 0, acks: 1, idempotent: false });
    await producer.connect();
    const messages = Array.from({ length: Number(count) }, (_, i) => ({ value: compression + '-' + i + '-'.repeat(40), partition: 0 }));
    for (const m of await producer.send({ topic, messages })) out.offsets.push(m.offset);
    await producer.close();
  }
} catch (err) {
  out.error = err.errorName ?? String(err);
  out.message = err.message;
}
out.after = zstdState();
await rill.close();
console.log(JSON.stringify(out));
`;

/** Reads TOPIC partition 0 from the start until COUNT values arrived (or an error). */
const CONSUME = `${PRELUDE}
const { Rill } = await import(dist('client/index.js'));
const [port, topic, count] = process.argv.slice(2);
const rill = new Rill({ brokers: ['127.0.0.1:' + port], clientId: 'lazy-consumer' });
const out = { before: zstdState(), values: [] };
const consumer = rill.consumer({ maxWaitMs: 50 });
consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
try {
  for await (const m of consumer) {
    out.values.push(m.value.toString());
    if (out.values.length === Number(count)) break;
  }
} catch (err) {
  out.error = err.errorName ?? String(err);
  out.message = err.message;
}
await consumer.close();
out.after = zstdState();
await rill.close();
console.log(JSON.stringify(out));
`;

interface ClientReport {
  before: ZstdState;
  after: ZstdState;
  offsets?: number[];
  values?: string[];
  error?: string;
  message?: string;
}

const NOT_LOADED: ZstdState = { loaded: false, required: false };
const LOADED: ZstdState = { loaded: true, required: true };
/** A process without WebAssembly (NODE_OPTIONS accepts --jitless). */
const JITLESS = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --jitless` };

let scripts = '';
const children: ChildProcessWithoutNullStreams[] = [];
const env = new TestEnv();

beforeAll(async () => {
  scripts = await mkdtemp(join(tmpdir(), 'rill-zstd-lazy-'));
  await writeFile(join(scripts, 'broker.mjs'), BROKER);
  await writeFile(join(scripts, 'produce.mjs'), PRODUCE);
  await writeFile(join(scripts, 'consume.mjs'), CONSUME);
  return () => rm(scripts, { recursive: true, force: true });
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await env.cleanup();
});

/** A broker child process; `state()` asks it what it has loaded. */
async function childBroker(extraEnv: Record<string, string> = {}, dataDir?: string): Promise<{ port: number; initial: ZstdState; state(): Promise<ZstdState> }> {
  dataDir ??= await env.tempDir('rill-zstd-lazy-data-');
  const child = spawnNode(join(scripts, 'broker.mjs'), [dataDir], { RILL_ROOT: ROOT, ...extraEnv });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the broker child did not answer within 20 s; stderr: ${stderr}`)), 20_000).unref());
    const line = await Promise.race([lines.next(), timeout]);
    if (line.done === true) throw new Error(`the broker child exited; stderr: ${stderr}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const first = await next();
  return {
    port: first.port as number,
    initial: { loaded: first.loaded as boolean, required: first.required as boolean },
    state: async () => {
      child.stdin.write('state\n');
      return (await next()) as unknown as ZstdState;
    },
  };
}

async function runClient(script: 'produce.mjs' | 'consume.mjs', args: Array<string | number>, extraEnv: Record<string, string> = {}): Promise<ClientReport> {
  const result = await collect(spawnNode(join(scripts, script), args.map(String), { RILL_ROOT: ROOT, ...extraEnv }), script, '', 30_000);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ClientReport;
}

const valuesOf = (codec: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${codec}-${i}${'-'.repeat(40)}`);

describe('zstd is loaded on first use', () => {
  it('a broker and SDK processes that see no zstd never load it; the first zstd batch loads it in each fresh process', async () => {
    const broker = await childBroker();
    expect(broker.initial).toEqual(NOT_LOADED);

    // Uncompressed and every other codec: produced, validated, stored and consumed without libzstd.
    const others = ['none', 'gzip', 'snappy', 'lz4'];
    const produced = await runClient('produce.mjs', [broker.port, 'lazy', others.join(','), 5]);
    expect(produced.error).toBeUndefined();
    expect(produced.offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect([produced.before, produced.after]).toEqual([NOT_LOADED, NOT_LOADED]);
    expect(await broker.state()).toEqual(NOT_LOADED);
    const consumed = await runClient('consume.mjs', [broker.port, 'lazy', 20]);
    expect(consumed.values).toEqual(others.flatMap((c) => valuesOf(c, 5)));
    expect([consumed.before, consumed.after]).toEqual([NOT_LOADED, NOT_LOADED]);

    // The first zstd batch: the producer compresses (its first use), the broker's produce
    // validation decompresses (its first use), a fresh consumer decompresses (its first use).
    const zstd = await runClient('produce.mjs', [broker.port, 'lazy', 'zstd', 5]);
    expect(zstd.error).toBeUndefined();
    expect(zstd.offsets).toEqual([20, 21, 22, 23, 24]);
    expect([zstd.before, zstd.after]).toEqual([NOT_LOADED, LOADED]);
    expect(await broker.state()).toEqual(LOADED);
    const all = await runClient('consume.mjs', [broker.port, 'lazy', 25]);
    expect(all.values).toEqual([...others, 'zstd'].flatMap((c) => valuesOf(c, 5)));
    expect([all.before, all.after]).toEqual([NOT_LOADED, LOADED]);
  });

  it('without WebAssembly (node --jitless) the broker and the SDK run, and zstd alone fails with UNSUPPORTED_COMPRESSION_TYPE', async () => {
    const broker = await childBroker(JITLESS);
    expect(broker.initial).toEqual(NOT_LOADED);
    // This process has WebAssembly: it compresses, the jitless broker cannot validate.
    const rill = env.client(broker.port, { retry: { retries: 0, initialBackoffMs: 10, maxBackoffMs: 10 } });
    const zstdProducer = rill.producer({ compression: 'zstd', lingerMs: 0, acks: 1, idempotent: false });
    await expect(zstdProducer.send({ topic: 'nowasm', messages: [{ value: 'z', partition: 0 }] })).rejects.toMatchObject({
      errorName: 'UNSUPPORTED_COMPRESSION_TYPE',
      message: expect.stringContaining('libzstd (WebAssembly) did not load'),
    });
    // The broker keeps serving the other codecs, and still has not loaded libzstd.
    const gzipProducer = rill.producer({ compression: 'gzip', lingerMs: 0, acks: 1, idempotent: false });
    expect((await gzipProducer.send({ topic: 'nowasm', messages: [{ value: 'g', partition: 0 }] }))[0]!.offset).toBe(0);
    expect(await broker.state()).toEqual(NOT_LOADED);

    // A jitless producer: its zstd send fails at once, its gzip one works.
    const jitlessProducer = await runClient('produce.mjs', [broker.port, 'nowasm', 'gzip,zstd', 1], JITLESS);
    expect(jitlessProducer.offsets).toEqual([1]);
    expect(jitlessProducer.error).toBe('UNSUPPORTED_COMPRESSION_TYPE');
    expect(jitlessProducer.message).toContain('no WebAssembly');

    // A jitless consumer of a zstd batch (stored by a broker that has WebAssembly) gets the
    // error with the batch's offset, not CORRUPT_MESSAGE: the batch is fine.
    const wasmBroker = await env.broker();
    const wasmClient = env.client(wasmBroker.port);
    await wasmClient.producer({ compression: 'zstd', lingerMs: 0 }).send({ topic: 'zstd', messages: [{ value: 'z0', partition: 0 }] });
    const jitlessConsumer = await runClient('consume.mjs', [wasmBroker.port, 'zstd', 1], JITLESS);
    expect(jitlessConsumer.values).toEqual([]);
    expect(jitlessConsumer.error).toBe('UNSUPPORTED_COMPRESSION_TYPE');
    expect(jitlessConsumer.message).toMatch(/zstd\[0\] at offset 0: zstd is unavailable in this process/);
  });

  it('a broker without WebAssembly answers a timestamp lookup inside a zstd batch with the batch\'s base offset', async () => {
    // Two zstd batches, written by a broker that has WebAssembly: offsets 0-2 at 1000-1002 ms, 3-5 at 2000-2002 ms.
    const wasmBroker = await env.broker();
    await env.client(wasmBroker.port).admin().createTopics({ topics: [{ topic: 'times', numPartitions: 1 }] });
    const writer = env.client(wasmBroker.port).producer({ compression: 'zstd', lingerMs: 0 });
    for (const base of [1000, 2000]) {
      await writer.send({ topic: 'times', messages: [0, 1, 2].map((i) => ({ value: `t${base + i}`, timestamp: base + i, partition: 0 })) });
    }
    // It reads inside the batch: the first record at or after 2001 ms is offset 4.
    expect(await env.client(wasmBroker.port).admin().offsetsForTimes('times', 2001)).toEqual([{ partition: 0, offset: 4 }]);
    await env.stop(wasmBroker);

    // The same log served by a broker that cannot decompress zstd: the batch is unreadable
    // there (segment-reader.ts), so the answer is where that batch starts, not a failure.
    const broker = await childBroker(JITLESS, wasmBroker.dataDir);
    const admin = env.client(broker.port).admin();
    expect(await admin.offsetsForTimes('times', 2001)).toEqual([{ partition: 0, offset: 3 }]);
    expect(await admin.offsetsForTimes('times', 5000)).toEqual([{ partition: 0, offset: -1 }]);
    expect(await broker.state()).toEqual(NOT_LOADED);
  });
});
