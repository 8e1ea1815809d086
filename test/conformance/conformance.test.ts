/**
 * Keeps docs/PROTOCOL.md honest (issue 11): a client written in Python from the spec alone
 * (rill_client.py; the scenario is conformance.py, refusals.py and scenario.py) runs against a real broker started here,
 * and every check it reports is asserted on its own, in two groups — what the spec has always
 * promised, and the agreed refusals of malformed requests. Then the rill SDK and the Python
 * client read each other's records: keys, values, headers, timestamps and murmur2 partitions
 * must survive both ways.
 *
 * Needs Debian's python3 with python3-msgpack and python3-crc32c (test/setup/outside-tools.ts
 * installs them when it can; otherwise the suite skips loudly, and fails under CI).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../protocol/murmur2.js';
import { DEBIAN_PYTHON, requireTool } from '../helpers/outside-tools.js';
import { TestEnv } from '../integration/harness.js';

const SCENARIO = join(dirname(fileURLToPath(import.meta.url)), 'conformance.py');
const SCENARIO_TIMEOUT_MS = 90_000;
const SDK_TOPIC = 'sdk-made';
const SDK_PARTITIONS = 4;
const READ_BOUND_MS = 30_000;

/** The checks conformance.py runs, by group; the suite also asserts it reports exactly these. */
const CONFORMANCE_CHECKS = [
  'codec_fixtures', 'api_versions', 'create_topic_metadata', 'produce_keyed_murmur2', 'fetch_decode',
  'gzip_roundtrip', 'produce_acks_0', 'list_offsets', 'fetch_limits', 'offset_commit_fetch', 'idempotent_retry', 'log_append_time', 'int64_are_ints',
  'read_sdk_topic',
];
const REFUSAL_CHECKS = [
  'not_msgpack', 'metadata_without_auto_create', 'create_topics_optional_fields', 'create_topics_bad_configs',
  'offset_commit_without_metadata', 'produce_acks_2', 'produce_records_str', 'list_offsets_bad_timestamps',
  'bad_topic_names', 'create_topics_default_partitions', 'poisoned_batch',
];

interface PyRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

interface ScenarioReport {
  checks: Record<string, { group: string; ok: boolean; detail: string }>;
  produced: { topic: string; partitions: number; records: PyRecord[] };
  sdkRecords: PyRecord[] | null;
}

/** Runs the scenario as a child process (async: the broker shares this event loop). */
function runScenario(port: number): Promise<ScenarioReport> {
  return new Promise((resolve, reject) => {
    // -B: no __pycache__ left in the source tree.
    const child = spawn(DEBIAN_PYTHON, ['-B', SCENARIO, '127.0.0.1', String(port), '--sdk-topic', SDK_TOPIC], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Exit 1 means "some check failed" and still carries the report; anything else is a crash.
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if ((code === 0 || code === 1) && line.startsWith('{')) resolve(JSON.parse(line) as ScenarioReport);
      else reject(new Error(`conformance.py exited ${code ?? signal}:\n${stderr}\n${stdout}`));
    });
  });
}

/** What the SDK sends: keyed, with headers and explicit timestamps. */
const sdkMessages = Array.from({ length: 12 }, (_, i) => ({
  key: `sdk-key-${i}`,
  value: `sdk value ${i} \u00fc`,
  headers: { origin: 'typescript', n: String(i) },
  timestamp: Date.now() - 1000 + i,
}));

describe.skipIf(!requireTool('python3-msgpack-crc32c'))('conformance: a Python client written from docs/PROTOCOL.md', () => {
  const env = new TestEnv();
  let port = 0;
  let report: ScenarioReport;
  let sdkAcks: { partition: number; offset: number }[] = [];

  beforeAll(async () => {
    const broker = await env.broker();
    port = broker.port;
    const rill = env.client(port);
    await rill.admin().createTopics({ topics: [{ topic: SDK_TOPIC, numPartitions: SDK_PARTITIONS }] });
    sdkAcks = await rill.producer().send({ topic: SDK_TOPIC, messages: sdkMessages });
    report = await runScenario(port);
  }, 120_000);

  afterAll(() => env.cleanup());

  const expectCheck = (group: string, name: string): void => {
    const result = report.checks[name];
    expect(result, `conformance.py did not report ${name}`).toBeDefined();
    expect(result!.group).toBe(group);
    // The detail is the scenario's own message: what was sent, what came back.
    expect(result!.ok ? 'passed' : result!.detail).toBe('passed');
  };

  it('reports exactly the checks listed here', () => {
    expect(Object.keys(report.checks).sort()).toEqual([...CONFORMANCE_CHECKS, ...REFUSAL_CHECKS].sort());
  });

  describe('what the spec promises', () => {
    it.each(CONFORMANCE_CHECKS)('%s', (name) => expectCheck('conformance', name));
  });

  describe('refusals of malformed requests', () => {
    it.each(REFUSAL_CHECKS)('%s', (name) => expectCheck('refusals', name));
  });

  it('the SDK consumer reads what Python produced, keys and headers intact, at murmur2 partitions', async () => {
    const { topic, partitions, records } = report.produced;
    expect(records.length).toBeGreaterThan(0);
    const consumer = env.client(port).consumer({ maxWaitMs: 100 });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })));
    const got: PyRecord[] = [];
    // Bounds the read: closing ends the loop, and a short read then fails the comparison below.
    const bound = setTimeout(() => void consumer.close(), READ_BOUND_MS);
    for await (const m of consumer) {
      got.push({
        partition: m.partition,
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key?.toString('utf8') ?? null,
        value: m.value?.toString('utf8') ?? null,
        // The SDK exposes headers as a map; Python's keys are distinct, so order is all that is lost.
        headers: Object.entries(m.headers).map(([k, v]) => [k, v?.toString('utf8') ?? null]),
      });
      if (got.length === records.length) break;
    }
    clearTimeout(bound);
    await consumer.close();
    const order = (a: PyRecord, b: PyRecord): number => a.partition - b.partition || a.offset - b.offset;
    const sortHeaders = (r: PyRecord): PyRecord => ({ ...r, headers: [...r.headers].sort(([a], [b]) => a.localeCompare(b)) });
    expect(got.sort(order).map(sortHeaders)).toEqual([...records].sort(order).map(sortHeaders));
    for (const r of records) expect(r.partition).toBe(partitionForKey(r.key!, partitions));
  });

  it('Python reads what the SDK produced, keys, headers and timestamps intact', () => {
    const expected = sdkMessages.map((m, i) => ({
      partition: sdkAcks[i]!.partition,
      offset: sdkAcks[i]!.offset,
      timestamp: m.timestamp,
      key: m.key,
      value: m.value,
      headers: Object.entries(m.headers),
    }));
    for (const e of expected) expect(e.partition).toBe(partitionForKey(e.key, SDK_PARTITIONS));
    const order = (a: PyRecord, b: PyRecord): number => a.partition - b.partition || a.offset - b.offset;
    expect([...(report.sdkRecords ?? [])].sort(order)).toEqual(expected.sort(order));
  });
});
