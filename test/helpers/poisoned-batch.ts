/**
 * The poisoned batch: a valid one-record batch whose record length varint is 1 too
 * big, behind a recomputed CRC — it passes every check that looks at the batch header only.
 */
import { crc32c } from '../../protocol/crc32c.js';
import { ATTRIBUTES_POS, CRC_POS, RECORDS_POS, encodeBatch } from '../../protocol/record-batch.js';
import { readVarint, writeVarint } from '../../protocol/varint.js';
import type { ConsumedMessage, Consumer } from '../../client/index.js';

/** A one-record batch of `value` with record 0's length + 1 and the CRC made right again. */
export function poisonedBatch(value = 'poison'): Buffer {
  const batch = encodeBatch([{ key: null, value }]);
  const cursor = { pos: RECORDS_POS };
  const length = readVarint(batch, cursor);
  if (writeVarint(batch, RECORDS_POS, length + 1) !== cursor.pos) throw new Error('the length varint changed size');
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_POS, batch.length), CRC_POS);
  return batch;
}

/** What the walker says about `poisonedBatch(value)`. */
export function poisonedReason(value = 'poison'): string {
  const left = encodeBatch([{ key: null, value }]).length - RECORDS_POS - 1;
  return `record 0: length ${left + 1} does not fit the ${left} bytes left`;
}

/** Reads with for-await until `count` messages or the partition's error; returns both. */
export async function readUntilError(consumer: Consumer, count: number): Promise<{ messages: ConsumedMessage[]; error: unknown }> {
  const messages: ConsumedMessage[] = [];
  try {
    for await (const m of consumer) {
      messages.push(m);
      if (messages.length === count) break;
    }
  } catch (error) {
    return { messages, error };
  }
  return { messages, error: null };
}
