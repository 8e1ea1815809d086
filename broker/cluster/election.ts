/**
 * Controller election: the `controller` key, created-if-absent under the broker's own session
 * lease (Kafka's ephemeral /controller znode), so a broker whose lease dies stops being
 * controller in the same instant it stops being a broker. controllerEpoch = the key's create
 * revision: it grows with every election, and every controller write compares it (writer.ts),
 * so a deposed controller writes nothing even before it learns it was deposed.
 *
 * Brokers that lose the campaign watch the key and campaign again when it is deleted.
 */
import { EventEmitter } from 'node:events';
import { CONTROLLER_KEY } from './keys.js';
import { encodeRecord, decodeRecord, type ClusterStore, type Follow } from './store.js';
import type { IKeyValue } from 'etcd3';
import { Records } from './schemas.js';
import type { BrokerSession, Registration } from './session.js';
import { SILENT_LOGGER, type ClusterLogger } from './options.js';

export interface ControllerElectionEvents {
  /** This broker is controller from now on, fencing its writes with `epoch`. */
  elected: [epoch: number];
  /** This broker is no longer controller (its key went away or its lease was lost). */
  deposed: [epoch: number];
  /** Who is controller changed, as seen in etcd (null: none right now). */
  'controller-changed': [nodeId: number | null, epoch: number | null];
}

export class ControllerElection extends EventEmitter<ControllerElectionEvents> {
  private epoch: number | null = null;
  private follow: Follow | null = null;
  private campaigning: Promise<void> | null = null;
  private closed = false;
  private readonly onRegistered = (): void => this.campaignSoon();
  private readonly onLeaseLost = (): void => this.depose();

  constructor(
    private readonly store: ClusterStore,
    private readonly session: BrokerSession,
    private readonly logger: ClusterLogger = SILENT_LOGGER,
  ) {
    super();
  }

  /** The epoch while this broker is controller and its lease is alive, else null. */
  controllerEpoch(): number | null {
    return this.epoch !== null && this.session.leaseAlive() ? this.epoch : null;
  }

  async start(): Promise<void> {
    this.session.on('registered', this.onRegistered);
    this.session.on('lease-lost', this.onLeaseLost);
    this.follow = await this.store.follow(
      { key: CONTROLLER_KEY },
      {
        put: (kv) => this.announce(kv),
        delete: (kv) => {
          if (this.epoch !== null && Number(kv.mod_revision) > this.epoch) {
            this.depose();
            // Our key lives under our lease: its deletion usually means the lease is gone too.
            void this.session.verifyLease();
          }
          this.emit('controller-changed', null, null);
          this.campaignSoon();
        },
        resync: () => {
          this.store.ns
            .get(CONTROLLER_KEY)
            .exec()
            .then((res) => {
              const kv = res.kvs[0];
              if (kv !== undefined) this.announce(kv);
              else if (this.epoch !== null) this.depose();
              this.campaignSoon();
            })
            .catch((err: unknown) => this.logger.warn({ err }, 'reading the controller key failed'));
        },
        error: (err) => this.logger.warn({ err }, 'controller watch failed; reopening'),
      },
    );
  }

  private announce(kv: IKeyValue): void {
    try {
      const record = decodeRecord(kv, Records.controller);
      if (this.epoch !== null && record.createRevision !== this.epoch) this.depose();
      this.emit('controller-changed', record.value.nodeId, record.createRevision);
    } catch (err) {
      this.logger.warn({ err }, 'ignoring an invalid controller record');
    }
  }

  /** Gives up the controller role (deleting the key only if it is still ours) and stops campaigning. */
  async close(): Promise<void> {
    this.closed = true;
    this.session.off('registered', this.onRegistered);
    this.session.off('lease-lost', this.onLeaseLost);
    await this.follow?.cancel();
    await this.campaigning?.catch(() => undefined);
    const epoch = this.epoch;
    if (epoch !== null) {
      this.depose();
      await this.store.ns.if(CONTROLLER_KEY, 'Create', '==', epoch).then(this.store.ns.delete().key(CONTROLLER_KEY)).commit().catch(() => undefined);
    }
  }

  private depose(): void {
    const epoch = this.epoch;
    if (epoch === null) return;
    this.epoch = null;
    this.logger.warn({ epoch }, 'no longer the controller');
    this.emit('deposed', epoch);
  }

  private campaignSoon(): void {
    if (this.closed || this.campaigning !== null || this.epoch !== null) return;
    const registration = this.session.registration();
    if (registration === null || !this.session.leaseAlive()) return; // campaigns again on 'registered'
    this.campaigning = this.campaign(registration)
      .catch((err: unknown) => this.logger.warn({ err }, 'controller campaign failed; retrying when the key or the session changes'))
      .finally(() => {
        this.campaigning = null;
      });
  }

  private async campaign(registration: Registration): Promise<void> {
    const value = encodeRecord({ nodeId: registration.nodeId });
    const res = await this.store.ns
      .if(CONTROLLER_KEY, 'Create', '==', 0)
      .then(this.store.ns.put(CONTROLLER_KEY).value(value).lease(registration.leaseId))
      .commit();
    if (!res.succeeded || this.closed) return; // someone else leads: the watch calls us back on its delete
    if (this.session.registration() !== registration) return; // our lease died meanwhile: the key dies with it
    this.epoch = Number(res.header.revision);
    this.logger.info({ epoch: this.epoch }, 'elected controller');
    this.emit('elected', this.epoch);
  }
}
