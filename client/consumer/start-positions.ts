/**
 * Start positions ('earliest', 'latest', { timestamp }) as ListOffsets asks and answers them:
 * the request for a set of partitions, and the answer applied to them. The fetcher sends the
 * request to the partitions' leader and retries failures like a fetch's.
 */
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/apis/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/apis/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { partitionKey } from '../topic-partition.js';
import type { Connection } from '../connection.js';
import type { OffsetSpec } from '../types.js';
import type { PartitionState } from './partition-state.js';

export type StartSpec = Exclude<OffsetSpec, number>;

/** The ListOffsets request for `states`, each asked for its `specs[i]`, with the leader epoch the client knows. */
export function listOffsetsRequest(states: readonly PartitionState[], specs: readonly StartSpec[], leaderEpochOf: (st: PartitionState) => number = () => -1): ListOffsetsRequest {
  const byTopic = new Map<string, Array<{ partition: number; currentLeaderEpoch: number; timestamp: number }>>();
  for (let i = 0; i < states.length; i++) {
    const st = states[i]!;
    const spec = specs[i]!;
    const timestamp = spec === 'earliest' ? EARLIEST_TIMESTAMP : spec === 'latest' ? LATEST_TIMESTAMP : spec.timestamp;
    let list = byTopic.get(st.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(st.topic, list);
    }
    list.push({ partition: st.partition, currentLeaderEpoch: leaderEpochOf(st), timestamp });
  }
  return { topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
}

/**
 * Moves each partition to the offset ListOffsets found for it, unless it was sought or removed
 * meanwhile (`epochs`, `specs` as asked). No record at or after a timestamp: the partition
 * starts at the end, as Kafka does. A partition error goes to `onError`.
 */
export function applyStartPositions(
  states: readonly PartitionState[],
  epochs: readonly number[],
  specs: readonly StartSpec[],
  response: ListOffsetsResponse,
  onError: (st: PartitionState, code: number) => void,
): void {
  const results = new Map<string, ListOffsetsResponse['topics'][number]['partitions'][number]>();
  for (const t of response.topics) for (const p of t.partitions) results.set(partitionKey(t.name, p.partition), p);
  for (let i = 0; i < states.length; i++) {
    const st = states[i]!;
    if (st.removed || st.epoch !== epochs[i] || st.pendingStart !== specs[i]) continue;
    const r = results.get(st.key);
    if (r === undefined) continue;
    if (r.errorCode !== ErrorCode.NONE) {
      onError(st, r.errorCode);
      continue;
    }
    if (r.offset < 0) {
      st.pendingStart = 'latest';
      continue;
    }
    st.failures = 0;
    st.pendingStart = null;
    st.caughtUp = false;
    st.fetchOffset = r.offset;
    if (st.processing === 0 && st.chunks.length === 0) st.processedOffset = r.offset;
  }
}

/** What resolving start positions needs from the fetcher. */
export interface StartResolver {
  leaderEpochOf(st: PartitionState): number;
  /** A partition's ListOffsets error (the fetcher's per-partition error handling). */
  onPartitionError(st: PartitionState, code: number): void;
  /** The whole request failed (unless the fetcher has stopped meanwhile). */
  onRequestError(states: PartitionState[], epochs: number[], err: Error): void;
  stopped(): boolean;
  /** Called once the answer (or the failure) is handled: the partitions may fetch again. */
  done(): void;
  signal: AbortSignal;
}

/**
 * Resolves the start positions ('earliest', 'latest', { timestamp }) of `states`, all led by the
 * broker behind `conn`, with one ListOffsets; answers for partitions moved meanwhile (their
 * epoch changed) are ignored by applyStartPositions.
 */
export function resolveStartPositions(conn: Connection, states: PartitionState[], r: StartResolver): void {
  const epochs = states.map((st) => st.epoch);
  const specs = states.map((st) => st.pendingStart!);
  for (const st of states) st.resolving = true;
  const done = (): void => {
    for (const st of states) st.resolving = false;
    r.done();
  };
  conn.request('ListOffsets', listOffsetsRequest(states, specs, r.leaderEpochOf), { signal: r.signal }).then(
    (response) => {
      applyStartPositions(states, epochs, specs, response, r.onPartitionError);
      done();
    },
    (err: Error) => {
      done();
      if (!r.stopped()) r.onRequestError(states, epochs, err);
    },
  );
}
