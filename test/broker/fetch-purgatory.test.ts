/**
 * The fetch purgatory on its own (broker/fetch-purgatory.ts), over real partition logs: one
 * timer for every parked fetch answers each at its own maxWaitMs, in deadline order, never
 * early; appends wake exactly the fetches whose logs grew enough, each once; an aborted
 * connection drops only its own fetches, through one listener however often it parked.
 * (test/broker/long-poll.test.ts covers the same through a broker and the wire.)
 */
import { getEventListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FetchPurgatory } from '../../broker/fetch-purgatory.js';
import { BrokerMetrics } from '../../broker/metrics.js';
import { PartitionLog } from '../../storage/partition-log.js';
import { batchOf, config, removeDir, tempDir } from '../storage/helpers.js';

describe('fetch purgatory', () => {
  let dir: string;
  let logs: PartitionLog[];
  let purgatory: FetchPurgatory;

  beforeEach(async () => {
    dir = await tempDir();
    logs = [];
    for (let p = 0; p < 3; p++) logs.push(await PartitionLog.open({ topic: 't', partition: p, dir: `${dir}/t-${p}`, config: config(), recoveryPoint: null }));
    purgatory = new FetchPurgatory(1000, new BrokerMetrics(() => [], { nodeId: 0, processMetrics: false }));
  });
  afterEach(async () => {
    purgatory.close();
    for (const log of logs) await log.close();
    await removeDir(dir);
  });

  /** Parks a fetch that answers `name` when re-read, recording when. */
  function park(name: string, opts: { logs: PartitionLog[]; maxWaitMs: number; missingBytes?: number; signal?: AbortSignal }, answered: Array<{ name: string; how: string; ms: number }>, t0: number): Promise<string> {
    return purgatory
      .park({
        logs: opts.logs,
        missingBytes: opts.missingBytes ?? 1,
        maxWaitMs: opts.maxWaitMs,
        signal: opts.signal ?? new AbortController().signal,
        current: `${name}:current`,
        complete: () => Promise.resolve(`${name}:read`),
      })
      .then((how) => {
        answered.push({ name, how, ms: performance.now() - t0 });
        return how;
      });
  }

  it('answers each fetch at its own maxWaitMs, in deadline order, never before it', async () => {
    const answered: Array<{ name: string; how: string; ms: number }> = [];
    const t0 = performance.now();
    const waits = { a: 240, b: 60, c: 150, d: 60, e: 20 };
    const done = Object.entries(waits).map(([name, maxWaitMs]) => park(name, { logs: [logs[0]!], maxWaitMs }, answered, t0));
    expect(purgatory.size).toBe(5);
    await Promise.all(done);
    expect(answered.map((a) => a.name)).toEqual(['e', 'b', 'd', 'c', 'a']);
    for (const a of answered) {
      expect(a.how).toBe(`${a.name}:read`);
      expect(a.ms).toBeGreaterThanOrEqual(waits[a.name as keyof typeof waits] - 1);
    }
    expect(purgatory.size).toBe(0);
    expect(logs[0]!.onAppend).toBeNull();
  });

  it('wakes only the fetches whose logs grew by their missing bytes, each once', async () => {
    const answered: Array<{ name: string; how: string; ms: number }> = [];
    const t0 = performance.now();
    const batch = batchOf(1, 'x');
    const done = [
      park('p0', { logs: [logs[0]!], maxWaitMs: 5_000 }, answered, t0),
      park('p1', { logs: [logs[1]!], maxWaitMs: 5_000 }, answered, t0),
      park('p01', { logs: [logs[0]!, logs[1]!], maxWaitMs: 5_000 }, answered, t0),
      park('p2-big', { logs: [logs[2]!], maxWaitMs: 5_000, missingBytes: batch.length * 3 }, answered, t0),
      park('p2', { logs: [logs[2]!], maxWaitMs: 5_000 }, answered, t0),
    ];
    for (let i = 0; i < 20; i++) void park(`idle${i}`, { logs: [logs[1]!, logs[2]!], maxWaitMs: 5_000, missingBytes: 1 << 30 }, answered, t0);
    await logs[0]!.append(batch);
    await new Promise((r) => setTimeout(r, 20));
    expect(answered.map((a) => a.name).sort()).toEqual(['p0', 'p01']);
    await logs[2]!.append(batch);
    await new Promise((r) => setTimeout(r, 20));
    expect(answered.map((a) => a.name).sort()).toEqual(['p0', 'p01', 'p2']);
    await Promise.all([logs[2]!.append(batch), logs[2]!.append(batch), logs[1]!.append(batch)]);
    await Promise.all(done);
    expect(answered.map((a) => a.name).sort()).toEqual(['p0', 'p01', 'p1', 'p2', 'p2-big']);
    expect(answered.every((a) => a.how.endsWith(':read'))).toBe(true);
    expect(purgatory.size).toBe(20);
    expect(logs[0]!.onAppend).toBeNull();
    expect(logs[1]!.onAppend).not.toBeNull();
    purgatory.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(answered.length).toBe(25);
    expect(purgatory.size).toBe(0);
    expect(logs[1]!.onAppend).toBeNull();
    expect(logs[2]!.onAppend).toBeNull();
  });

  it('an aborted connection drops its own fetches at once, through one listener however often it parked', async () => {
    const answered: Array<{ name: string; how: string; ms: number }> = [];
    const t0 = performance.now();
    const gone = new AbortController();
    const staying = new AbortController();
    const done: Array<Promise<string>> = [];
    for (let i = 0; i < 30; i++) {
      done.push(park(`gone${i}`, { logs: [logs[i % 3]!], maxWaitMs: 5_000, signal: gone.signal }, answered, t0));
      if (i % 3 === 0) done.push(park(`staying${i}`, { logs: [logs[i % 3]!], maxWaitMs: 5_000, signal: staying.signal }, answered, t0));
    }
    // Fetches answered by an append leave their connection's listener in place for the next park.
    await logs[1]!.append(batchOf(1, 'x'));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered.map((a) => a.name).sort()).toEqual(Array.from({ length: 10 }, (_, k) => `gone${3 * k + 1}`).sort());
    expect(getEventListeners(gone.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(staying.signal, 'abort')).toHaveLength(1);
    gone.abort();
    await new Promise((r) => setTimeout(r, 0));
    const dropped = answered.filter((a) => a.how.endsWith(':current')).map((a) => a.name);
    expect(dropped).toHaveLength(20);
    expect(dropped.every((n) => n.startsWith('gone'))).toBe(true);
    expect(purgatory.size).toBe(10);
    await expect(purgatory.park({ logs: [logs[0]!], missingBytes: 1, maxWaitMs: 5_000, signal: gone.signal, current: 'late', complete: () => Promise.resolve('read') })).resolves.toBe('late');
    await logs[0]!.append(batchOf(1, 'y'));
    await Promise.all(done);
    expect(answered.filter((a) => a.name.startsWith('staying')).every((a) => a.how.endsWith(':read'))).toBe(true);
    expect(purgatory.size).toBe(0);
  });

  it('wakeAll answers every fetch on a log, also those watching others', async () => {
    const answered: Array<{ name: string; how: string; ms: number }> = [];
    const t0 = performance.now();
    const done = [
      park('a', { logs: [logs[0]!], maxWaitMs: 5_000 }, answered, t0),
      park('ab', { logs: [logs[0]!, logs[1]!], maxWaitMs: 5_000 }, answered, t0),
      park('b', { logs: [logs[1]!], maxWaitMs: 5_000 }, answered, t0),
    ];
    purgatory.wakeAll(logs[0]!);
    await Promise.all(done.slice(0, 2));
    expect(answered.map((a) => a.name).sort()).toEqual(['a', 'ab']);
    expect(purgatory.size).toBe(1);
    expect(logs[0]!.onAppend).toBeNull();
    await logs[1]!.append(batchOf(1, 'z'));
    await done[2];
    expect(purgatory.size).toBe(0);
  });
});
