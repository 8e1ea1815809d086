/** Reads `count` messages from a rill SDK consumer (for-await) and returns them. */
import type { ConsumedMessage, Consumer } from '../../client/index.js';

export async function take(consumer: Consumer, count: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  if (count === 0) return out;
  for await (const m of consumer) {
    out.push(m);
    if (out.length === count) break;
  }
  return out;
}
