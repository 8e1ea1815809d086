/**
 * Controlled shutdown of a cluster broker (Kafka's `controlled.shutdown.enable`; in KRaft the
 * broker's wantShutDown heartbeat), run by ClusterRuntime before it leaves the cluster:
 *
 * 1. the broker sets `shuttingDown` in its registration (BrokerSession.markShuttingDown: a
 *    compare-and-swap under the same lease, so it stays live and keeps its broker epoch);
 * 2. the controller, which watches `brokers/`, moves every partition this broker leads to
 *    another live in-sync replica and takes the broker out of every ISR (leader-election.ts);
 *    a partition with no other live ISR member keeps its leader (the controller logs which);
 * 3. the broker waits, bounded by `controlled.shutdown.timeout.ms`, until it leads nothing
 *    that could be handed over and its role changes are applied, then for HANDOVER_GRACE_MS
 *    more, answering requests all the while: clients meet NOT_LEADER_OR_FOLLOWER and refresh
 *    their metadata instead of a refused connection, and group coordinators move with the
 *    `__consumer_offsets` leaders.
 *
 * Then the broker closes as before (lease revoked; if it was the controller, its key goes with
 * election.close() and another broker is elected).
 */
import type { Logger } from 'pino';
import type { BrokerSession } from './cluster/session.js';
import type { ClusterMetadataView } from './cluster/metadata-view.js';
import type { ClusterMetadataCache } from './cluster/metadata-cache.js';
import { leaderCannotHandOver } from './cluster/leader-election.js';

export interface ControlledShutdownContext {
  readonly nodeId: number;
  readonly session: BrokerSession;
  readonly view: ClusterMetadataView;
  readonly logger: Logger;
  readonly timeoutMs: number;
  /** Resolves once the queued local role changes are applied. */
  readonly settled: () => Promise<void>;
}

/** How often the wait looks again when no change event arrives (events usually come first). */
const RECHECK_MS = 100;
/**
 * How long the broker keeps serving after its leaderships moved. A client told
 * NOT_LEADER_OR_FOLLOWER refreshes its metadata from some broker whose view may still be a few
 * milliseconds behind, and comes back here once more; within this grace it gets
 * NOT_LEADER_OR_FOLLOWER again (and refreshes again) rather than a refused connection.
 */
export const HANDOVER_GRACE_MS = 1000;

/** Partitions `nodeId` leads (as `cache` says) that another live, staying ISR member could take over. */
export function leadershipsToHandOver(cache: ClusterMetadataCache, nodeId: number): string[] {
  const live = new Map<number, number>();
  const shuttingDown = new Set<number>([nodeId]);
  for (const [id, b] of cache.brokers) {
    live.set(id, b.createRevision);
    if (b.value.shuttingDown === true) shuttingDown.add(id);
  }
  const out: string[] = [];
  for (const [topic, partition] of cache.allPartitions()) {
    const state = cache.partitionState(topic, partition)?.value;
    if (state === undefined || state.leader !== nodeId) continue;
    if (!leaderCannotHandOver(state, live, shuttingDown)) out.push(`${topic}-${partition}`);
  }
  return out;
}

/** Resolves on the view's next partition or broker change, or after `ms`. */
function nextChange(view: ClusterMetadataView, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      view.off('partition-changed', done);
      view.off('brokers-changed', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    view.on('partition-changed', done);
    view.on('brokers-changed', done);
  });
}

/** Runs steps 1 and 3 above; never throws (a failed step is logged and the close goes on). */
export async function controlledShutdown(ctx: ControlledShutdownContext): Promise<void> {
  const started = Date.now();
  const deadline = started + ctx.timeoutMs;
  const before = leadershipsToHandOver(ctx.view.cache, ctx.nodeId).length;
  try {
    // Bounded like the rest: an unreachable etcd must not hold the close up for good.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`etcd did not answer within controlled.shutdown.timeout.ms (${ctx.timeoutMs} ms)`)), ctx.timeoutMs)));
    const marked = await Promise.race([ctx.session.markShuttingDown(), late]).finally(() => clearTimeout(timer));
    if (!marked) {
      ctx.logger.warn({ nodeId: ctx.nodeId }, 'controlled shutdown skipped: no live registration to mark');
      return;
    }
  } catch (err) {
    ctx.logger.warn({ err }, 'controlled shutdown skipped: marking the registration failed');
    return;
  }
  ctx.logger.info({ nodeId: ctx.nodeId, leaderships: before, timeoutMs: ctx.timeoutMs }, 'controlled shutdown: asked the controller to move this broker\'s leaderships');
  let pending = leadershipsToHandOver(ctx.view.cache, ctx.nodeId);
  while (pending.length > 0 && Date.now() < deadline) {
    await nextChange(ctx.view, Math.min(RECHECK_MS, Math.max(1, deadline - Date.now())));
    pending = leadershipsToHandOver(ctx.view.cache, ctx.nodeId);
  }
  // The role changes the view emitted are applied (leader → follower), so the handlers answer
  // NOT_LEADER_OR_FOLLOWER from the local state too, and coordinators have unloaded.
  await Promise.race([ctx.settled(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
  if (before > 0) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(HANDOVER_GRACE_MS, deadline - Date.now()))));
  const tookMs = Date.now() - started;
  if (pending.length > 0) {
    ctx.logger.warn({ partitions: pending.slice(0, 100), count: pending.length, tookMs }, 'controlled shutdown timed out (controlled.shutdown.timeout.ms); closing with these leaderships still here');
  } else {
    ctx.logger.info({ tookMs }, 'controlled shutdown: every leadership that could move has moved');
  }
}
