/**
 * A broker's session with the cluster: it makes sure the `cluster` key exists (create-if-absent),
 * registers `brokers/<nodeId>` under a lease of `broker.session.timeout.ms` (etcd3 keeps it alive
 * every third of the TTL), and re-registers with a new incarnation whenever the lease is lost.
 *
 * Liveness is judged conservatively on this side: the lease counts as alive only until the send
 * time of the last answered keep-alive plus the TTL etcd granted with it, because etcd started its
 * own countdown no earlier than that. A broker paused past that instant (SIGSTOP, a long GC)
 * therefore sees `leaseAlive()` turn false the moment it runs again, before any network round
 * trip, and emits `lease-lost`; a leader must check `leaseAlive()` before acknowledging.
 *
 * `brokerEpoch` is the create revision of the registration key (Kafka's broker epoch): a state
 * written before it was written for an earlier life of this broker.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Lease } from 'etcd3';
import { RillError, ERRORS, rillError } from '../../protocol/errors.js';
import { brokerKey, CLUSTER_KEY } from './keys.js';
import { Records, type BrokerRegistration, type ClusterRecord } from './schemas.js';
import { encodeRecord, type ClusterStore } from './store.js';
import { leaseTtlSeconds, SILENT_LOGGER, type ClusterLogger } from './options.js';

/** Another live broker holds this node id. */
export class DuplicateBrokerRegistrationError extends RillError {
  constructor(nodeId: number, holder: BrokerRegistration) {
    super(ERRORS.DUPLICATE_BROKER_REGISTRATION.code, `node id ${nodeId} is already registered by a live broker at ${holder.host}:${holder.port} (incarnation ${holder.incarnation}); give this broker another --node-id`);
    this.name = 'DuplicateBrokerRegistrationError';
  }
}

export interface Registration {
  readonly nodeId: number;
  readonly incarnation: string;
  /** Create revision of `brokers/<nodeId>`. */
  readonly brokerEpoch: number;
  readonly leaseId: string;
}

export interface LeaseLost {
  readonly registration: Registration;
  readonly reason: string;
}

export interface BrokerSessionEvents {
  registered: [Registration];
  'lease-lost': [LeaseLost];
  /** A re-registration attempt failed; the session tries again after a backoff. */
  'registration-failed': [Error];
}

export interface BrokerSessionOptions {
  store: ClusterStore;
  nodeId: number;
  /** What the broker advertises; the incarnation is added per registration. */
  endpoint: Omit<BrokerRegistration, 'incarnation'>;
  sessionTimeoutMs: number;
  /**
   * How long registration waits for a previous holder of the node id to go away before refusing
   * (a broker restarted right after a crash finds its old lease still running). Default: the
   * session timeout plus a second.
   */
  previousRegistrationWaitMs?: number;
  /** Pause between re-registration attempts after a lost lease. */
  reregisterBackoffMs?: number;
  logger?: ClusterLogger;
}

/** Keep-alives in flight whose send time we remember; beyond it we assume the oldest (conservative). */
const MAX_PENDING_KEEPALIVES = 64;
const POLL_PREVIOUS_MS = 200;

/**
 * The earliest instant etcd may expire one lease, tracked from the lease's own events. Listeners
 * are attached before the grant, so no keep-alive is missed and answers pair with the sends in
 * order (the keep-alive stream answers in order).
 */
class LeaseClock {
  /** performance.now() until which etcd cannot have expired the lease. */
  validUntil = 0;
  private readonly sentAt: number[] = [];
  onRenew: () => void = () => undefined;

  constructor(lease: Lease, ttlSeconds: number) {
    const grantSentAt = performance.now();
    void lease.grant().then(
      () => {
        this.validUntil = Math.max(this.validUntil, grantSentAt + ttlSeconds * 1000);
      },
      () => undefined,
    );
    lease.on('keepaliveFired', () => {
      if (this.sentAt.length < MAX_PENDING_KEEPALIVES) this.sentAt.push(performance.now());
    });
    lease.on('keepaliveEstablished', () => {
      this.sentAt.length = 0; // a new stream: answers to the old one will not come
    });
    lease.on('keepaliveSucceeded', (res) => {
      const sentAt = this.sentAt.shift();
      if (sentAt === undefined) return;
      this.validUntil = Math.max(this.validUntil, sentAt + Number(res.TTL) * 1000);
      this.onRenew();
    });
  }
}

export class BrokerSession extends EventEmitter<BrokerSessionEvents> {
  readonly nodeId: number;
  private readonly store: ClusterStore;
  private readonly endpoint: Omit<BrokerRegistration, 'incarnation'>;
  private readonly ttlSeconds: number;
  private readonly previousWaitMs: number;
  private readonly backoffMs: number;
  private readonly logger: ClusterLogger;
  private lease: Lease | null = null;
  private current: Registration | null = null;
  private clock: LeaseClock | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reregisterTimer: NodeJS.Timeout | null = null;
  /** Lease ids this process held and lost: their leftover key may be taken over, not waited for. */
  private readonly formerLeaseIds = new Set<string>();
  /** Set by markShuttingDown(): every registration from then on carries `shuttingDown: true`. */
  private shuttingDown = false;
  private closed = false;

  constructor(options: BrokerSessionOptions) {
    super();
    this.store = options.store;
    this.nodeId = options.nodeId;
    this.endpoint = options.endpoint;
    this.ttlSeconds = leaseTtlSeconds(options.sessionTimeoutMs);
    this.previousWaitMs = options.previousRegistrationWaitMs ?? this.ttlSeconds * 1000 + 1000;
    this.backoffMs = options.reregisterBackoffMs ?? 500;
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  /** The cluster record, created by whichever broker gets there first. */
  async ensureCluster(): Promise<ClusterRecord> {
    const record: ClusterRecord = { clusterId: this.store.clusterId, createdAt: Date.now() };
    await this.store.ns.if(CLUSTER_KEY, 'Create', '==', 0).then(this.store.ns.put(CLUSTER_KEY).value(encodeRecord(record))).commit();
    const existing = await this.store.get(CLUSTER_KEY, Records.cluster);
    if (existing === null) throw rillError('UNKNOWN_SERVER_ERROR', `etcd key '${CLUSTER_KEY}' vanished right after it was written`);
    return existing.value;
  }

  /** Ensures the cluster key and registers; throws DuplicateBrokerRegistrationError when the id is taken. */
  async start(): Promise<Registration> {
    await this.ensureCluster();
    return this.register();
  }

  registration(): Registration | null {
    return this.current;
  }

  /** The broker epoch of the live registration, null while the lease is not known to be alive. */
  brokerEpoch(): number | null {
    return this.leaseAlive() ? this.current!.brokerEpoch : null;
  }

  leaseId(): string | null {
    return this.leaseAlive() ? this.current!.leaseId : null;
  }

  leaseAlive(): boolean {
    return this.current !== null && this.clock !== null && performance.now() < this.clock.validUntil;
  }

  /**
   * Asks etcd about the lease now instead of at the next keep-alive (a lost lease is then
   * reported at once). Used when something hints at a loss, e.g. our controller key vanished.
   */
  async verifyLease(): Promise<void> {
    await this.lease?.keepaliveOnce().catch(() => undefined);
  }

  /**
   * Controlled shutdown, step one (Kafka's wantShutDown): rewrites this broker's registration
   * with `shuttingDown: true`, by compare-and-swap on its create revision (the broker epoch) and
   * under the same lease, so the broker epoch and liveness do not change and a registration
   * of another life is never touched. A registration made later (after a lost lease) carries
   * the flag too. Returns false when there was no live registration to mark.
   */
  async markShuttingDown(): Promise<boolean> {
    this.shuttingDown = true;
    const current = this.current;
    if (current === null || this.closed) return false;
    const key = brokerKey(this.nodeId);
    const value: BrokerRegistration = { ...this.endpoint, incarnation: current.incarnation, shuttingDown: true };
    const res = await this.store.ns
      .if(key, 'Create', '==', current.brokerEpoch)
      .then(this.store.ns.put(key).value(encodeRecord(value)).lease(current.leaseId))
      .commit();
    return res.succeeded;
  }

  /** Revokes the lease (the registration disappears at once) and stops re-registering. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reregisterTimer !== null) clearTimeout(this.reregisterTimer);
    this.clearExpiryTimer();
    const lease = this.lease;
    this.lease = null;
    this.current = null;
    if (lease !== null) await lease.revoke().catch(() => undefined);
  }

  private async register(): Promise<Registration> {
    const deadline = performance.now() + this.previousWaitMs;
    for (;;) {
      if (this.closed) throw rillError('UNKNOWN_SERVER_ERROR', 'broker session closed');
      const lease = this.store.client.lease(this.ttlSeconds);
      lease.on('lost', () => undefined); // handled in adopt() once granted; a failed grant rejects grant()
      const clock = new LeaseClock(lease, this.ttlSeconds);
      let leaseId: string;
      try {
        leaseId = await lease.grant();
      } catch (err) {
        lease.release();
        throw err;
      }
      const incarnation = randomUUID();
      const value: BrokerRegistration = { ...this.endpoint, incarnation, ...(this.shuttingDown ? { shuttingDown: true } : {}) };
      const key = brokerKey(this.nodeId);
      const res = await this.store.ns
        .if(key, 'Create', '==', 0)
        .then(this.store.ns.put(key).value(encodeRecord(value)).lease(leaseId))
        .commit()
        .catch(async (err: unknown) => {
          await lease.revoke().catch(() => undefined);
          throw err;
        });
      if (res.succeeded) {
        const registration: Registration = { nodeId: this.nodeId, incarnation, brokerEpoch: Number(res.header.revision), leaseId };
        this.adopt(lease, registration, clock);
        return registration;
      }
      await lease.revoke().catch(() => undefined);
      const holder = await this.store.get(key, Records.broker);
      if (holder === null) continue; // gone between our txn and the read: try again at once
      if (this.formerLeaseIds.has(holder.lease)) {
        // Our own earlier registration, whose lease etcd has not expired yet: end it ourselves.
        await this.store.client.leaseClient.leaseRevoke({ ID: holder.lease }).catch(() => undefined);
        continue;
      }
      if (performance.now() >= deadline) throw new DuplicateBrokerRegistrationError(this.nodeId, holder.value);
      await new Promise((resolve) => setTimeout(resolve, POLL_PREVIOUS_MS));
    }
  }

  private adopt(lease: Lease, registration: Registration, clock: LeaseClock): void {
    this.lease = lease;
    this.current = registration;
    this.clock = clock;
    this.formerLeaseIds.add(registration.leaseId);
    clock.onRenew = () => {
      if (this.lease === lease) this.armExpiryTimer();
    };
    lease.on('lost', (err) => this.lose(lease, `etcd reports the lease lost: ${err.message}`));
    this.armExpiryTimer();
    this.logger.info({ nodeId: this.nodeId, incarnation: registration.incarnation, brokerEpoch: registration.brokerEpoch }, 'registered in the cluster');
    this.emit('registered', registration);
  }

  private armExpiryTimer(): void {
    this.clearExpiryTimer();
    const lease = this.lease;
    if (lease === null) return;
    const delayMs = Math.max(0, (this.clock?.validUntil ?? 0) - performance.now()) + 1;
    this.expiryTimer = setTimeout(() => {
      if (!this.leaseAlive()) this.lose(lease, 'no keep-alive answered within the session timeout');
      else this.armExpiryTimer();
    }, delayMs);
    this.expiryTimer.unref();
  }

  private clearExpiryTimer(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  private lose(lease: Lease, reason: string): void {
    if (this.lease !== lease || this.current === null) return; // an older lease, already handled
    const registration = this.current;
    this.lease = null;
    this.current = null;
    this.clock = null;
    this.clearExpiryTimer();
    // The key may outlive our view of the lease (etcd counts from when it got the keep-alive):
    // revoking ends it at once, so the controller moves leadership now rather than later.
    lease.revoke().catch(() => undefined);
    this.logger.warn({ nodeId: this.nodeId, incarnation: registration.incarnation, reason }, 'cluster lease lost');
    this.emit('lease-lost', { registration, reason });
    this.scheduleReregister(0);
  }

  private scheduleReregister(delayMs: number): void {
    if (this.closed) return;
    this.reregisterTimer = setTimeout(() => {
      this.reregisterTimer = null;
      this.register().catch((err: unknown) => {
        this.emit('registration-failed', err as Error);
        this.scheduleReregister(this.backoffMs);
      });
    }, delayMs);
  }
}
