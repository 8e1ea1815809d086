/**
 * Topic-partition keys and types shared by both wings of the client (producer and consumer)
 * and by admin: they live here, below both, so neither wing imports the other.
 */

/** A map key for one partition of one topic (NUL cannot appear in a topic name). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
