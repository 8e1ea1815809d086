/**
 * The way to a group's coordinator: FindCoordinator once, then requests straight to that
 * broker, over the group's own connections (a BrokerPool separate from the fetcher's, so a
 * heartbeat or a commit never queues behind a long-polling fetch on the same socket: the broker
 * answers one connection's requests in order).
 *
 * The coordinator is looked up again after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (the
 * caller says so with `markUnknown()`) and after any transport failure. Each request is one
 * attempt: the callers (membership.ts, offset-committer.ts) own their retry policies.
 */
import type { Logger } from 'pino';
import type { ApiName, RequestOf, ResponseOf } from '../../../protocol/apis/index.js';
import { ConnectionError, ErrorCode, RillError, TimeoutError, errorFromCode } from '../../../protocol/errors.js';
import type { BrokerPool } from '../../broker-pool.js';
import type { Connection } from '../../connection.js';

export interface CoordinatorRequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

export class CoordinatorChannel {
  private coordinator: { nodeId: number; address: string } | null = null;
  private finding: Promise<Connection> | null = null;

  constructor(
    private readonly pool: BrokerPool,
    readonly groupId: string,
    private readonly log: Logger,
  ) {}

  /** One request to the coordinator (found first if needed). Transport failures forget it. */
  async request<N extends ApiName>(api: N, payload: RequestOf<N>, opts: CoordinatorRequestOptions = {}): Promise<ResponseOf<N>> {
    const conn = await this.connection(opts.signal);
    try {
      return await conn.request(api, payload, opts);
    } catch (err) {
      if (err instanceof ConnectionError || err instanceof TimeoutError) this.markUnknown();
      throw err;
    }
  }

  /** The coordinator may have moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a lost connection). */
  markUnknown(): void {
    if (this.coordinator !== null) this.log.debug({ groupId: this.groupId, coordinator: this.coordinator.address }, 'coordinator forgotten; will look it up again');
    this.coordinator = null;
  }

  /** Errors after which the coordinator must be looked up again. */
  static isCoordinatorMoved(err: unknown): boolean {
    return err instanceof RillError && (err.is('NOT_COORDINATOR') || err.is('COORDINATOR_NOT_AVAILABLE') || err instanceof ConnectionError || err instanceof TimeoutError);
  }

  private connection(signal: AbortSignal | undefined): Promise<Connection> {
    if (this.coordinator !== null) return Promise.resolve(this.pool.forNode(this.coordinator.nodeId));
    this.finding ??= this.find(signal).finally(() => {
      this.finding = null;
    });
    return this.finding;
  }

  private async find(signal: AbortSignal | undefined): Promise<Connection> {
    const any = await this.pool.any(signal);
    const response = await any.request('FindCoordinator', { keyType: 0, keys: [this.groupId] }, { signal });
    const c = response.coordinators.find((x) => x.key === this.groupId);
    if (c === undefined) throw errorFromCode(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator named no coordinator for group '${this.groupId}'`);
    if (c.errorCode !== ErrorCode.NONE) throw errorFromCode(c.errorCode, c.errorMessage ?? `no coordinator for group '${this.groupId}'`);
    // The group's pool learns every live broker (connections open lazily, so it still talks
    // only to the coordinator): when the coordinator's broker goes away, the next lookup can
    // go through any of them, not only the bootstrap list, which may name just that broker.
    const md = await any.request('Metadata', { topics: [], allowAutoTopicCreation: false }, { signal });
    const brokers = md.brokers.filter((b) => b.nodeId !== c.nodeId);
    brokers.push({ nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
    this.pool.setBrokers(brokers);
    this.coordinator = { nodeId: c.nodeId, address: `${c.host}:${c.port}` };
    this.log.debug({ groupId: this.groupId, coordinator: this.coordinator.address }, 'coordinator found');
    return this.pool.forNode(c.nodeId);
  }
}
