/**
 * The Java Kafka client's key hash and default partitioner for keyed records:
 * `partition = (murmur2(keyBytes) & 0x7fffffff) % numPartitions`
 * (`org.apache.kafka.common.utils.Utils.murmur2` and `toPositive`, used by the Java producer's
 * built-in partitioner). Matching it bit for bit means a key lands on the same partition
 * whether a Java, librdkafka (murmur2_random), KafkaJS or rill producer sent it.
 *
 * MurmurHash2, 32-bit: seed 0x9747b28c, m 0x5bd1e995, r 24; little-endian 4-byte blocks; the
 * 1-3 byte tail is XORed in from the highest byte down and multiplied once; final mixes
 * h ^= h >>> 13; h *= m; h ^= h >>> 15. Java ints are signed 32-bit with wrap-around, which
 * is what Math.imul and `| 0` give, so the result is a signed int32 exactly as Java returns it.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Java's `Utils.murmur2(bytes)`, a signed 32-bit integer. Strings hash as their UTF-8 bytes. */
export function murmur2(key: Uint8Array | string): number {
  const data = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch falls through 3 -> 2 -> 1, multiplying once after the last tail byte.
  const tail = length & 3;
  if (tail !== 0) {
    if (tail === 3) h ^= data[blocksEnd + 2]! << 16;
    if (tail >= 2) h ^= data[blocksEnd + 1]! << 8;
    h ^= data[blocksEnd]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition the Java client's default partitioner picks for a non-null key:
 * `(murmur2(key) & 0x7fffffff) % numPartitions` (Java's `Utils.toPositive`, which clears the
 * sign bit rather than taking Math.abs, so -2^31 maps to 0 and not to a negative number).
 */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
