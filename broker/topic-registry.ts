/**
 * The broker's topics: name, partition count, config overrides, internal flag, persisted in
 * `<dataDir>/topics.json` (its format: topics-file.ts). `configs` holds only the overrides; a
 * topic's effective LogConfig is its overrides over the broker's `log.*` defaults, recomputed
 * when either changes (topic-configs.ts).
 *
 * Crash safety. Create writes topics.json first, then creates the partition logs; delete
 * removes the topic from memory and topics.json first, then deletes the logs. At start
 * (`attach`), a registered partition without a log gets an empty one, and a partition log
 * that topics.json does not know (a crash in the middle of a delete, or a lost topics.json) is
 * adopted back as a topic with default configs, with a warning: data is never deleted on a
 * guess.
 *
 * Names follow Kafka's rules (protocol/topic-name.ts, plus: no two topics that differ only by
 * '.' vs '_'); names starting with `__` are reserved for internal topics
 * (`__consumer_offsets`), which only the broker itself creates (`ensureInternalTopic`).
 *
 * Mutations are serialized (one topics.json write at a time); reads are synchronous.
 *
 * In a cluster (`useCluster`), etcd's topic records are the truth and this registry is their
 * local mirror (`mirror`, fed by broker/cluster-runtime.ts): it lists every topic of the
 * cluster, while partition logs exist only for the replicas this broker holds (the runtime
 * creates and deletes them). Creation (auto-create, internal topics) and deletion go to the
 * cluster; the cluster-only topic configs (`min.insync.replicas`,
 * `unclean.leader.election.enable`) are kept with the overrides but are not log configs.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ERRORS, rillError, type RillError } from '../protocol/errors.js';
import { validateTopicName } from '../protocol/topic-name.js';
import { parseLogConfig, type LogConfig } from '../storage/log-config.js';
import type { LogManager } from '../storage/log-manager.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { TOPICS_FILE, readTopicsFile, writeTopicsFile, type TopicInfo } from './topics-file.js';
import { applyTopicConfigChanges, checkClusterTopicConfigs, logOverridesOf, sameConfigs, type TopicConfigChange } from './topic-configs.js';

export { TOPICS_FILE, type TopicInfo } from './topics-file.js';
export { CLUSTER_TOPIC_CONFIG_KEYS, logOverridesOf } from './topic-configs.js';
export const INTERNAL_TOPIC_PREFIX = '__';
/** Upper bound on partitions per topic (each one is a directory and open files). */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;
/** How long a cluster member waits for a topic it (or another broker) created to reach its mirror. */
const INTERNAL_TOPIC_WAIT_MS = 10_000;

export function isInternalTopicName(name: string): boolean {
  return name.startsWith(INTERNAL_TOPIC_PREFIX);
}

/** Throws INVALID_TOPIC_EXCEPTION when `name` breaks Kafka's naming rules. */
export function requireValidTopicName(name: string): void {
  const problem = validateTopicName(name);
  if (problem !== null) throw rillError('INVALID_TOPIC_EXCEPTION', problem);
}

/** Why `name` is not a topic here: an illegal name is INVALID_TOPIC_EXCEPTION, else UNKNOWN_TOPIC_OR_PARTITION. */
export function noSuchTopic(name: string): RillError {
  const problem = validateTopicName(name);
  return problem !== null ? rillError('INVALID_TOPIC_EXCEPTION', problem) : rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
}

type DeleteListener = (topic: TopicInfo, logs: PartitionLog[]) => void;

/** What the registry needs of the cluster to create and delete topics (ClusterHandle has it). */
export interface ClusterTopicAdmin {
  createTopic(request: { name: string; numPartitions: number; replicationFactor: number; configs?: Record<string, string> }): Promise<unknown>;
  deleteTopic(name: string): Promise<void>;
  /** Replaces the topic's configs with `apply(latest)`; resolves with what was written. */
  alterTopicConfigs(name: string, apply: (configs: Readonly<Record<string, string>>) => Record<string, string>): Promise<Record<string, string>>;
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicInfo>();
  private readonly effective = new Map<string, LogConfig>();
  /** Names being created or deleted: their promise settles when the change is complete. */
  private readonly busy = new Map<string, Promise<TopicInfo | null>>();
  private writes: Promise<void> = Promise.resolve();
  private logs: LogManager | null = null;
  private readonly deleteListeners: DeleteListener[] = [];
  private cluster: ClusterTopicAdmin | null = null;

  private constructor(
    private readonly path: string,
    private readonly logDefaults: LogConfig,
    private readonly logger: Logger,
    private readonly autoCreate: { enabled: boolean; partitions: number },
  ) {}

  /** Reads topics.json (absent = no topics yet). Call `attach` once the logs are open. */
  static async load(dataDir: string, logDefaults: LogConfig, logger: Logger, autoCreate: { enabled: boolean; partitions: number }): Promise<TopicRegistry> {
    const registry = new TopicRegistry(join(dataDir, TOPICS_FILE), logDefaults, logger, autoCreate);
    for (const info of await readTopicsFile(registry.path)) {
      registry.topics.set(info.name, info);
      // A cluster broker's mirror keeps the cluster-only configs too: they are not log configs.
      registry.effective.set(info.name, parseLogConfig(logOverridesOf(info.configs), logDefaults));
    }
    return registry;
  }

  /** The LogConfig a partition of `topic` opens with (LogManager.open's `configFor`). */
  readonly configFor = (topic: string): LogConfig => this.effective.get(topic) ?? this.logDefaults;

  /** Reconciles topics.json with the partition logs on disk (see the file comment). */
  async attach(logs: LogManager): Promise<void> {
    this.logs = logs;
    const onDisk = new Map<string, number>();
    for (const log of logs.all()) onDisk.set(log.topic, Math.max(onDisk.get(log.topic) ?? 0, log.partition + 1));
    let adopted = false;
    for (const [name, count] of onDisk) {
      const known = this.topics.get(name);
      if (known === undefined || known.partitions < count) {
        const info: TopicInfo = { name, partitions: count, configs: known?.configs ?? {}, internal: known?.internal ?? isInternalTopicName(name) };
        this.topics.set(name, info);
        this.effective.set(name, parseLogConfig(logOverridesOf(info.configs), this.logDefaults));
        this.logger.warn({ topic: name, partitions: count }, 'adopting partition logs that topics.json does not list (interrupted delete or lost topics.json)');
        adopted = true;
      }
    }
    if (adopted) await this.persist();
    // In a cluster the runtime creates the logs of this broker's replicas only.
    if (this.cluster !== null) return;
    for (const info of this.topics.values()) {
      for (let p = 0; p < info.partitions; p++) {
        if (logs.get(info.name, p) === undefined) await logs.create(info.name, p, this.configFor(info.name));
      }
    }
  }

  get(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  /** Cluster mode (see the file comment); call before `attach`. */
  useCluster(cluster: ClusterTopicAdmin): void {
    this.cluster = cluster;
  }

  get clusterMode(): boolean {
    return this.cluster !== null;
  }

  /**
   * Makes the registry list exactly `topics` (the cluster's), persisting topics.json when that
   * changed anything. Creates and deletes no log. Resolves once written.
   */
  mirror(topics: readonly TopicInfo[]): Promise<void> {
    const next = new Map<string, TopicInfo>();
    for (const t of topics) next.set(t.name, t);
    let changed = next.size !== this.topics.size;
    for (const [name, t] of next) {
      const old = this.topics.get(name);
      if (old !== undefined && old.partitions === t.partitions && sameConfigs(old.configs, t.configs)) continue;
      changed = true;
      try {
        this.effective.set(name, parseLogConfig(logOverridesOf(t.configs), this.logDefaults));
      } catch (err) {
        // Someone wrote a config storage cannot use: serve the topic with the defaults, loudly.
        this.logger.warn({ topic: name, err }, 'ignoring the invalid configs of a cluster topic');
        this.effective.set(name, this.logDefaults);
      }
      for (let p = 0; p < t.partitions; p++) this.logs?.get(name, p)?.updateConfig(this.effective.get(name)!);
    }
    if (!changed) return this.writes;
    for (const name of [...this.topics.keys()]) if (!next.has(name)) this.effective.delete(name);
    this.topics.clear();
    for (const [name, t] of next) this.topics.set(name, t);
    return this.serialize(() => this.write(this.topics));
  }

  list(): TopicInfo[] {
    return [...this.topics.values()];
  }

  effectiveConfig(name: string): LogConfig | undefined {
    return this.effective.get(name);
  }

  get defaults(): LogConfig {
    return this.logDefaults;
  }

  /** The partition's log, or undefined when the topic or partition does not exist. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    const info = this.topics.get(topic);
    if (info === undefined || partition >= info.partitions || this.logs === null) return undefined;
    return this.logs.get(topic, partition);
  }

  onDelete(listener: DeleteListener): void {
    this.deleteListeners.push(listener);
  }

  /**
   * Checks a CreateTopics entry without creating anything; returns the partition count and
   * the parsed configs. Throws the RillError to answer with.
   */
  validateNew(name: string, partitions: number, configs: Record<string, string>, opts: { internal?: boolean } = {}): { partitions: number; config: LogConfig } {
    requireValidTopicName(name);
    if (isInternalTopicName(name) && opts.internal !== true) {
      throw rillError('INVALID_TOPIC_EXCEPTION', `Topic names starting with '${INTERNAL_TOPIC_PREFIX}' are reserved for internal topics`);
    }
    if (this.topics.has(name)) throw rillError('TOPIC_ALREADY_EXISTS', `topic '${name}' already exists`);
    if (this.busy.has(name)) throw rillError('TOPIC_ALREADY_EXISTS', `topic '${name}' is being created or deleted right now`);
    const collision = collisionKey(name);
    for (const other of [...this.topics.keys(), ...this.busy.keys()]) {
      if (collisionKey(other) === collision) throw rillError('INVALID_TOPIC_EXCEPTION', `topic '${name}' collides with existing topic '${other}' ('.' and '_' are interchangeable in metric names)`);
    }
    if (partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw rillError('INVALID_PARTITIONS', `Number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${partitions}`);
    }
    if (this.cluster !== null) checkClusterTopicConfigs(configs);
    return { partitions, config: parseLogConfig(this.cluster === null ? configs : logOverridesOf(configs), this.logDefaults) };
  }

  /** Creates a topic and its partition logs; resolves once both are durable. */
  create(name: string, partitions: number, configs: Record<string, string>, opts: { internal?: boolean } = {}): Promise<TopicInfo> {
    if (this.cluster !== null) {
      this.validateNew(name, partitions, configs, opts);
      const cluster = this.cluster;
      // Another broker may create the same topic at the same moment (two producers auto-creating
      // it): then its creation is ours too, once it reaches the mirror.
      const creating = cluster
        .createTopic({ name, numPartitions: partitions, replicationFactor: -1, configs })
        .catch((err: unknown) => {
          if ((err as RillError).code !== ERRORS.TOPIC_ALREADY_EXISTS.code) throw err;
        })
        .then(() => this.waitForMirror(name));
      return this.track(name, creating) as Promise<TopicInfo>;
    }
    const { config } = this.validateNew(name, partitions, configs, opts);
    const info: TopicInfo = { name, partitions, configs: { ...configs }, internal: opts.internal === true };
    const creating = this.serialize(async () => {
      const next = new Map(this.topics).set(name, info);
      await this.write(next);
      const logs = this.requireLogs();
      for (let p = 0; p < partitions; p++) {
        if (logs.get(name, p) === undefined) await logs.create(name, p, config);
      }
      this.topics.set(name, info);
      this.effective.set(name, config);
      this.logger.info({ topic: name, partitions, configs, internal: info.internal }, 'topic created');
      return info;
    });
    return this.track(name, creating) as Promise<TopicInfo>;
  }

  /**
   * For produce and Metadata: the topic if it exists, else (when `auto.create.topics.enable`
   * and the name is a valid non-internal one) a promise of it being created with
   * `num.partitions`, shared by everyone asking meanwhile. Returns undefined when the topic
   * does not exist and will not be created; the promise rejects with the reason if creation
   * fails.
   */
  getOrAutoCreate(name: string): TopicInfo | Promise<TopicInfo | null> | undefined {
    const info = this.topics.get(name);
    if (info !== undefined) return info;
    const pending = this.busy.get(name);
    if (pending !== undefined) return pending;
    // An illegal name is INVALID_TOPIC_EXCEPTION whether or not auto-creation is on.
    requireValidTopicName(name);
    if (!this.autoCreate.enabled || isInternalTopicName(name)) return undefined;
    return this.create(name, this.autoCreate.partitions, {});
  }

  /** The topic once the cluster mirror lists it; UNKNOWN_TOPIC_OR_PARTITION after INTERNAL_TOPIC_WAIT_MS. */
  private async waitForMirror(name: string): Promise<TopicInfo> {
    const deadline = Date.now() + INTERNAL_TOPIC_WAIT_MS;
    for (;;) {
      const info = this.topics.get(name);
      if (info !== undefined) return info;
      if (Date.now() > deadline) throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' exists in the cluster but has not reached this broker's view`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Creates an internal topic unless it exists; returns it either way. */
  async ensureInternalTopic(name: string, partitions: number, configs: Record<string, string>): Promise<TopicInfo> {
    for (;;) {
      const existing = this.topics.get(name);
      if (existing !== undefined) return existing;
      const pending = this.busy.get(name);
      if (pending === undefined) return this.create(name, partitions, configs, { internal: true });
      await pending.catch(() => null);
    }
  }

  /** The error answering a read of `topic`-`partition` that has no log here. */
  noSuchPartition(topic: string, partition: number): RillError {
    const info = this.topics.get(topic);
    if (info === undefined) return noSuchTopic(topic);
    return rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${topic}' has ${info.partitions} partition${info.partitions === 1 ? '' : 's'}; partition ${partition} does not exist`);
  }

  /** Removes a topic and deletes its logs. Internal topics cannot be deleted by clients. */
  delete(name: string): Promise<void> {
    const info = this.topics.get(name);
    if (info === undefined || this.busy.has(name)) return Promise.reject(noSuchTopic(name));
    if (info.internal) return Promise.reject(rillError('INVALID_TOPIC_EXCEPTION', `Internal topic '${name}' cannot be deleted`));
    // The cluster deletes it everywhere; each replica's log goes when its broker sees the change.
    if (this.cluster !== null) return this.cluster.deleteTopic(name);
    // Gone from reads at once: new produces and fetches answer UNKNOWN_TOPIC_OR_PARTITION.
    this.topics.delete(name);
    this.effective.delete(name);
    const deleting = this.serialize(async () => {
      try {
        await this.write(this.topics);
      } catch (err) {
        this.topics.set(name, info);
        this.effective.set(name, parseLogConfig(logOverridesOf(info.configs), this.logDefaults));
        throw err;
      }
      const logs = this.requireLogs();
      const partitionLogs: PartitionLog[] = [];
      for (let p = 0; p < info.partitions; p++) {
        const log = logs.get(name, p);
        if (log !== undefined) partitionLogs.push(log);
      }
      for (const listener of this.deleteListeners) listener(info, partitionLogs);
      for (let p = 0; p < info.partitions; p++) {
        if (logs.get(name, p) !== undefined) await logs.delete(name, p);
      }
      this.logger.info({ topic: name, partitions: info.partitions }, 'topic deleted');
      return null;
    });
    return this.track(name, deleting).then(() => undefined);
  }

  /**
   * AlterConfigs with Kafka's incremental semantics: each change sets a key, or reverts it to
   * the broker default when `value` is null; other overrides stay. Computed and written inside
   * the serialized section, so concurrent alters of one topic never lose each other's changes.
   * Throws INVALID_CONFIG (unknown key, bad value) before changing anything; `validateOnly`
   * checks without applying. Reconfigures the topic's partition logs.
   */
  alterConfigs(name: string, changes: ReadonlyArray<{ name: string; value: string | null }>, opts: { validateOnly?: boolean } = {}): Promise<TopicInfo> {
    if (!this.topics.has(name)) return Promise.reject(noSuchTopic(name));
    const cluster = this.cluster;
    if (cluster !== null) {
      // The topic record in etcd changes (compare-and-swap, re-applied to the latest configs);
      // every broker's mirror then reconfigures its logs.
      const apply = (configs: Readonly<Record<string, string>>): Record<string, string> => this.applyConfigChanges(configs, changes);
      const current = this.topics.get(name)!;
      let proposed: Record<string, string>;
      try {
        proposed = apply(current.configs); // validated before anything is written
      } catch (err) {
        return Promise.reject(err);
      }
      if (opts.validateOnly === true) return Promise.resolve({ ...current, configs: proposed });
      return cluster.alterTopicConfigs(name, apply).then(async (written) => {
        const deadline = Date.now() + INTERNAL_TOPIC_WAIT_MS;
        while (!sameConfigs(this.topics.get(name)?.configs ?? {}, written) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        const info = this.topics.get(name);
        if (info === undefined) throw noSuchTopic(name);
        return info;
      });
    }
    return this.serialize(async () => {
      const latest = this.topics.get(name);
      if (latest === undefined) throw rillError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
      const overrides = this.applyConfigChanges(latest.configs, changes);
      const config = parseLogConfig(overrides, this.logDefaults);
      const info: TopicInfo = { ...latest, configs: overrides };
      if (opts.validateOnly === true) return info;
      await this.write(new Map(this.topics).set(name, info));
      this.topics.set(name, info);
      this.effective.set(name, config);
      const logs = this.requireLogs();
      for (let p = 0; p < info.partitions; p++) logs.get(name, p)?.updateConfig(config);
      this.logger.info({ topic: name, configs: overrides }, 'topic configs altered');
      return info;
    });
  }

  /** Kafka's incremental changes over `configs`; throws INVALID_CONFIG / INVALID_REQUEST. */
  private applyConfigChanges(configs: Readonly<Record<string, string>>, changes: ReadonlyArray<TopicConfigChange>): Record<string, string> {
    return applyTopicConfigChanges(configs, changes, this.cluster !== null, this.logDefaults);
  }

  /** Waits for every pending topics.json write. */
  async flush(): Promise<void> {
    await this.writes;
  }

  private requireLogs(): LogManager {
    if (this.logs === null) throw new Error('TopicRegistry.attach() has not run');
    return this.logs;
  }

  private track(name: string, change: Promise<TopicInfo | null>): Promise<TopicInfo | null> {
    this.busy.set(name, change);
    const clear = () => {
      if (this.busy.get(name) === change) this.busy.delete(name);
    };
    change.then(clear, clear);
    return change;
  }

  /** Runs `job` after every earlier mutation has finished (one topics.json write at a time). */
  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const run = this.writes.then(job);
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async persist(): Promise<void> {
    await this.write(this.topics);
  }

  private write(topics: ReadonlyMap<string, TopicInfo>): Promise<void> {
    return writeTopicsFile(this.path, topics);
  }
}

function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}
