import { afterEach, describe, expect, it } from 'vitest';
import { BrokerPool } from '../../../client/broker-pool.js';
import { ProducerBatch, estimateRecordBytes, type PendingRecord } from '../../../client/producer/accumulator.js';
import { Idempotence, SEQUENCE_WRAP } from '../../../client/producer/idempotence.js';
import { newPartitionState, type PartitionSendState } from '../../../client/producer/partition-state.js';
import { encodeBatch, readBatchHeader } from '../../../protocol/record-batch.js';
import { TestEnv, testLogger } from '../../integration/harness.js';

const RETRY = { retries: 2, initialBackoffMs: 10, maxBackoffMs: 50 };

function record(i: number): PendingRecord {
  return { key: null, value: Buffer.from(`v${i}`), headers: [], timestamp: 1_700_000_000_000 };
}

function batchOf(count: number): ProducerBatch {
  const b = new ProducerBatch('t', 0, -1, 0);
  for (let i = 0; i < count; i++) {
    const r = record(i);
    b.appendRecord(r.timestamp, r.key, r.value, r.headers, estimateRecordBytes(r));
  }
  return b;
}

/** A pool nobody connects through: these tests exercise the sequence bookkeeping only. */
function unusedPool(): BrokerPool {
  return new BrokerPool(['127.0.0.1:1'], { clientId: 'idem-test', connectionTimeoutMs: 100, requestTimeoutMs: 100, retry: RETRY, logger: testLogger });
}

function idempotence(pool = unusedPool()): Idempotence {
  const idem = new Idempotence(pool, RETRY, testLogger);
  idem.producerId = 7;
  idem.producerEpoch = 0;
  return idem;
}

function state(): PartitionSendState {
  return newPartitionState('t', 0, 't\u00000');
}

describe('Idempotence', () => {
  it('numbers batches contiguously per partition and wraps at 2^31', () => {
    const idem = idempotence();
    const ps = state();
    const a = batchOf(3);
    const b = batchOf(2);
    idem.assignSequence(ps, a);
    idem.assignSequence(ps, b);
    expect([a.baseSequence, b.baseSequence, ps.nextSequence]).toEqual([0, 3, 5]);
    idem.returnSequence(ps, b);
    expect(ps.nextSequence).toBe(3);
    ps.nextSequence = SEQUENCE_WRAP - 2;
    const c = batchOf(5);
    idem.assignSequence(ps, c);
    expect(c.baseSequence).toBe(SEQUENCE_WRAP - 2);
    expect(ps.nextSequence).toBe(3);
  });

  it('acks move lastAckedSequence; only a gap at the first unacked batch (or a lost producer id) needs an epoch bump', () => {
    const idem = idempotence();
    const ps = state();
    const [a, b, c] = [batchOf(2), batchOf(2), batchOf(2)];
    for (const x of [a, b, c]) idem.assignSequence(ps, x);
    idem.onAcked(ps, a);
    expect(ps.lastAckedSequence).toBe(1);
    // c is behind b (unacked): OUT_OF_ORDER on c is a consequence of b's failure, no bump.
    idem.onSequenceError(ps, c, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(idem.bumpRequired).toBe(false);
    // b is the first unacked batch: the broker's view differs.
    idem.onSequenceError(ps, b, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(idem.bumpRequired).toBe(true);
    idem.bumpRequired = false;
    idem.onSequenceError(ps, c, 'UNKNOWN_PRODUCER_ID');
    expect(idem.bumpRequired).toBe(true);
  });

  it('a batch that failed for good after being sent leaves a hole: bump; one never sent does not', () => {
    const idem = idempotence();
    const ps = state();
    const neverSent = batchOf(1);
    idem.assignSequence(ps, neverSent);
    idem.onFailedForGood(neverSent);
    expect(idem.bumpRequired).toBe(false);
    const sent = batchOf(1);
    idem.assignSequence(ps, sent);
    sent.attempts = 1;
    idem.onFailedForGood(sent);
    expect(idem.bumpRequired).toBe(true);
  });

  it('restarts sequences under a new epoch and restamps queued retries in order (header + CRC)', () => {
    const idem = idempotence();
    const ps = state();
    const queued = [batchOf(4), batchOf(3)];
    for (const b of queued) {
      idem.assignSequence(ps, b);
      b.setEncoded(encodeBatch(b.liveRecords(), { producerId: 7, producerEpoch: 0, baseSequence: b.baseSequence, compression: 'none' }));
    }
    ps.retries.push(...queued);
    idem.producerEpoch = 1;
    idem.resetSequences([ps]);
    expect(queued.map((b) => b.baseSequence)).toEqual([0, 4]);
    expect(ps.nextSequence).toBe(7);
    expect(ps.lastAckedSequence).toBe(-1);
    for (const b of queued) {
      const h = readBatchHeader(b.encoded!);
      expect(h.producerEpoch).toBe(1);
      expect(h.baseSequence).toBe(b.baseSequence);
    }
  });

  describe('against a real broker', () => {
    const env = new TestEnv();
    afterEach(() => env.cleanup());

    it('gets a producer id once for concurrent callers, then bumps its epoch keeping the id', async () => {
      const broker = await env.broker();
      const pool = new BrokerPool([`127.0.0.1:${broker.port}`], { clientId: 'idem-test', connectionTimeoutMs: 2_000, requestTimeoutMs: 2_000, retry: RETRY, logger: testLogger });
      try {
        const idem = new Idempotence(pool, RETRY, testLogger);
        await Promise.all([idem.ensureProducerId(), idem.ensureProducerId()]);
        expect(idem.producerId).toBeGreaterThanOrEqual(0);
        const { producerId, producerEpoch } = idem;
        const ps = state();
        ps.nextSequence = 42;
        idem.bumpRequired = true;
        const { outcome } = await idem.bumpEpoch([ps]);
        expect(outcome).toBe('bumped');
        expect(idem.producerId).toBe(producerId);
        expect(idem.producerEpoch).toBe(producerEpoch + 1);
        expect(idem.bumpRequired).toBe(false);
        expect(ps.nextSequence).toBe(0);
      } finally {
        await pool.close();
      }
    });
  });
});
