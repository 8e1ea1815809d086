/**
 * The replica fetchers of one broker (Kafka's AbstractFetcherManager): one ReplicaFetcher per
 * source broker, created when the first partition starts following that broker and closed when
 * its last partition leaves. `follow` is what a become-follower event turns into; `unfollow` is
 * what become-leader and stop-replica turn into. A source is keyed by node id and address, so a
 * leader that came back on another address gets a fresh fetcher.
 */
import type { PartitionLog } from '../../storage/partition-log.js';
import { ReplicaFetcher, type ReplicaFetcherOptions, type SourceBroker } from './replica-fetcher.js';

export type FetcherManagerOptions = Omit<ReplicaFetcherOptions, 'source'>;

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<string, ReplicaFetcher>();
  /** partition → the source key it follows. */
  private readonly following = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: FetcherManagerOptions) {}

  /** Fetchers by source, for metrics and tests. */
  get sources(): SourceBroker[] {
    return [...this.fetchers.values()].map((f) => f.source);
  }

  fetcherFor(source: SourceBroker): ReplicaFetcher | undefined {
    return this.fetchers.get(sourceKey(source));
  }

  /**
   * Follows `log` on `leader` at `leaderEpoch`: moves it off any other fetcher, onto this
   * leader's (started on first use). The partition truncates by leader epoch before fetching.
   */
  async follow(log: PartitionLog, leader: SourceBroker, leaderEpoch: number): Promise<void> {
    if (this.closed) throw new Error('the replica fetcher manager is closed');
    const key = sourceKey(leader);
    const tp = partitionKey(log.topic, log.partition);
    const previous = this.following.get(tp);
    if (previous !== undefined && previous !== key) await this.detach(previous, log.topic, log.partition);
    let fetcher = this.fetchers.get(key);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher({ ...this.opts, source: leader });
      this.fetchers.set(key, fetcher);
      fetcher.start();
    }
    fetcher.addPartition(log, leaderEpoch);
    this.following.set(tp, key);
  }

  /** Stops following the partition (it leads now, or is no longer a replica here). */
  async unfollow(topic: string, partition: number): Promise<void> {
    const tp = partitionKey(topic, partition);
    const key = this.following.get(tp);
    if (key === undefined) return;
    await this.detach(key, topic, partition);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    this.following.clear();
    await Promise.all(all.map((f) => f.close()));
  }

  private async detach(key: string, topic: string, partition: number): Promise<void> {
    this.following.delete(partitionKey(topic, partition));
    const fetcher = this.fetchers.get(key);
    if (fetcher === undefined) return;
    fetcher.removePartition(topic, partition);
    if (fetcher.partitionCount === 0) {
      this.fetchers.delete(key);
      await fetcher.close();
    }
  }
}

function sourceKey(s: SourceBroker): string {
  return `${s.nodeId}@${s.host}:${s.port}`;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
