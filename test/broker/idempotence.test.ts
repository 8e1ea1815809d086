import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeBatch } from '../../protocol/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';
import { Fixture, createTopic, produce, readAll } from './harness.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('InitProducerId', () => {
  it('hands out unique ids, never reused across restarts, and bumps epochs', async () => {
    const dataDir = await fx.tempDir();
    const seen = new Set<number>();
    for (let run = 0; run < 3; run++) {
      const broker = await fx.broker({ dataDir, 'producer.id.block.size': 4 });
      const client = await fx.client(broker);
      for (let i = 0; i < 6; i++) {
        const r = await client.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 });
        expect(r).toMatchObject({ errorCode: 0, producerEpoch: 0 });
        expect(seen.has(r.producerId)).toBe(false);
        seen.add(r.producerId);
      }
      await client.close();
      await broker.close();
    }
    expect(seen.size).toBe(18);
    const meta = JSON.parse(await readFile(join(dataDir, 'meta.json'), 'utf8'));
    expect(meta.producerIdBlockEnd).toBeGreaterThan(Math.max(...seen));

    const broker = await fx.broker({ dataDir });
    const client = await fx.client(broker);
    const id = [...seen][0]!;
    expect(await client.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId: id, producerEpoch: 3 })).toMatchObject({ errorCode: 0, producerId: id, producerEpoch: 4 });
    const fresh = await client.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId: id, producerEpoch: 32767 });
    expect(fresh.producerEpoch).toBe(0);
    expect(seen.has(fresh.producerId)).toBe(false);
    expect((await client.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId: 10_000_000, producerEpoch: 0 })).errorCode).toBe(ErrorCode.UNKNOWN_PRODUCER_ID);
    expect((await client.request('InitProducerId', { transactionalId: 'tx', transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('refuses to open a data dir that belongs to another node id', async () => {
    const dataDir = await fx.tempDir();
    const first = await fx.broker({ dataDir, 'node.id': 1 });
    await first.close();
    await expect(fx.broker({ dataDir, 'node.id': 2 })).rejects.toThrow(/node id 1/);
  });
});

describe('Idempotent produce', () => {
  it('a produce resent after a dropped connection is not duplicated and gets its original offset', async () => {
    const broker = await fx.broker();
    const admin = await fx.client(broker);
    await createTopic(admin, 't', 1);
    const { producerId, producerEpoch } = await admin.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 });

    const first = await RawClient.connect(broker.port);
    const b0 = encodeBatch([{ key: 'k', value: 'v0' }], { producerId, producerEpoch, baseSequence: 0 });
    const b1 = encodeBatch([{ key: 'k', value: 'v1' }, { key: 'k', value: 'v2' }], { producerId, producerEpoch, baseSequence: 1 });
    expect((await produce(first, 't', 0, Buffer.from(b0))).baseOffset).toBe(0);
    expect((await produce(first, 't', 0, Buffer.from(b1))).baseOffset).toBe(1);
    // The connection drops before the producer saw the ack of b1; it reconnects and resends.
    await first.close();
    const second = await fx.client(broker);
    const again = await produce(second, 't', 0, Buffer.from(b1));
    expect(again).toMatchObject({ errorCode: 0, baseOffset: 1 });
    const againAgain = await produce(second, 't', 0, Buffer.from(b0));
    expect(againAgain).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await readAll(second, 't', 0)).map((r) => r.value)).toEqual(['v0', 'v1', 'v2']);

    // A gap in the sequence is refused; the next in-order batch still goes through.
    const gap = encodeBatch([{ key: 'k', value: 'gap' }], { producerId, producerEpoch, baseSequence: 7 });
    expect((await produce(second, 't', 0, gap)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const next = encodeBatch([{ key: 'k', value: 'v3' }], { producerId, producerEpoch, baseSequence: 3 });
    expect(await produce(second, 't', 0, next)).toMatchObject({ errorCode: 0, baseOffset: 3 });
    // An older epoch is fenced.
    const { producerEpoch: bumped } = await second.request('InitProducerId', { transactionalId: null, transactionTimeoutMs: 0, producerId, producerEpoch });
    expect((await produce(second, 't', 0, encodeBatch([{ value: 'new' }], { producerId, producerEpoch: bumped, baseSequence: 0 }))).errorCode).toBe(0);
    expect((await produce(second, 't', 0, encodeBatch([{ value: 'zombie' }], { producerId, producerEpoch, baseSequence: 4 }))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('producer state survives a restart: a resend after restart is still recognised', async () => {
    const dataDir = await fx.tempDir();
    let broker = await fx.broker({ dataDir });
    let client = await fx.client(broker);
    await createTopic(client, 't', 1);
    const b0 = encodeBatch([{ value: 'once' }], { producerId: 42, producerEpoch: 0, baseSequence: 0 });
    expect((await produce(client, 't', 0, Buffer.from(b0))).baseOffset).toBe(0);
    await client.close();
    await broker.close();
    broker = await fx.broker({ dataDir });
    client = await fx.client(broker);
    expect(await produce(client, 't', 0, Buffer.from(b0))).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await produce(client, 't', 0, encodeBatch([{ value: 'x' }], { producerId: 42, producerEpoch: 0, baseSequence: 2 }))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await readAll(client, 't', 0)).map((r) => r.value)).toEqual(['once']);
  });
});
