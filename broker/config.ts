/**
 * Broker configuration: Kafka's names where Kafka has the concept (`num.partitions`,
 * `socket.request.max.bytes`, `log.retention.ms`), rill's own dotted names where it does not
 * (`max.inflight.requests.per.connection`). One table, `BROKER_CONFIG_KEYS`, declares every key
 * with its type, default, bounds and documentation; docs/OPERATIONS.md ("## Broker") lists the
 * same keys.
 *
 * Sources, later wins: defaults < JSON file (`--config file.json`) < CLI flags / startBroker()
 * options. Values may be given as JSON numbers/booleans or as strings ("1000", "true"), as in
 * a Kafka properties file; `coerceBrokerConfig` turns both into typed values and
 * `resolveBrokerConfig` refuses unknown keys and out-of-range values with INVALID_CONFIG.
 *
 * The `log.*` keys (and `message.max.bytes`) are the broker-wide defaults of the topic-level
 * LogConfig keys of storage/log-config.ts: `log.retention.ms` is the default of a topic's
 * `retention.ms`, as in Kafka. `logDefaultsOf(config)` builds that LogConfig.
 */
import { rillError } from '../protocol/errors.js';
import { DEFAULT_LOG_CONFIG, LOG_CONFIG_KEYS, logConfigToStrings, parseLogConfig, type LogConfig } from '../storage/log-config.js';
import { checkSecurityConfig } from './security/tls-config.js';

const MiB = 1024 * 1024;

export interface BrokerConfig {
  'node.id': number;
  /** Interface the TCP listener binds to. */
  host: string;
  /** TCP port; 0 picks an ephemeral port (the handle and the "listening" line report it). */
  port: number;
  'data.dir': string;
  /** HTTP port of `/metrics`; null = no metrics endpoint, 0 = ephemeral. */
  'metrics.port': number | null;
  /** Host clients are told to connect to (Metadata, FindCoordinator); null = `host`. */
  'advertised.host': string | null;
  /** Port clients are told to connect to; null = the port actually bound. */
  'advertised.port': number | null;
  /** TCP port of the Kafka-protocol listener (broker/kafka/); null = off, 0 = ephemeral. */
  'kafka.port': number | null;
  /** Interface the Kafka listener binds to; null = `host`. */
  'kafka.host': string | null;
  /** Host Kafka clients are told to connect to (Kafka Metadata/FindCoordinator); null = `kafka.host`, else `host`. */
  'kafka.advertised.host': string | null;
  /** Port Kafka clients are told to connect to; null = the Kafka port actually bound. */
  'kafka.advertised.port': number | null;
  'auto.create.topics.enable': boolean;
  'num.partitions': number;
  /** Largest request frame accepted; a bigger one closes the connection. */
  'socket.request.max.bytes': number;
  'max.connections': number;
  'connections.max.idle.ms': number;
  'max.inflight.requests.per.connection': number;
  'max.inflight.bytes.per.connection': number;
  /** Cap on one fetch response's maxBytes, whatever the client asks for. */
  'fetch.max.bytes': number;
  /** Fetches parked waiting for data, broker-wide; beyond it a fetch is answered at once. */
  'fetch.purgatory.max.requests': number;
  /** Producer ids are reserved on disk this many at a time. */
  'producer.id.block.size': number;
  /** How long close() waits for in-flight requests before closing connections anyway. */
  'shutdown.timeout.ms': number;
  'group.consumer.session.timeout.ms': number;
  'group.consumer.heartbeat.interval.ms': number;
  'group.consumer.min.session.timeout.ms': number;
  'group.consumer.max.session.timeout.ms': number;
  'group.consumer.rebalance.timeout.ms': number;
  'group.consumer.max.size': number;
  /** Classic groups (JoinGroup/SyncGroup): how long the first rebalance of an empty group waits for more members. */
  'group.initial.rebalance.delay.ms': number;
  /** Classic groups: bounds of the session timeout a JoinGroup may ask for. */
  'group.min.session.timeout.ms': number;
  'group.max.session.timeout.ms': number;
  /** Classic groups: members (and members asked to rejoin with their id) per group. */
  'group.max.size': number;
  'offsets.topic.num.partitions': number;
  'offsets.topic.replication.factor': number;
  /** Committed offsets of a group without live members are deleted this long after it became empty (and after their commit). */
  'offsets.retention.minutes': number;
  'offsets.retention.check.interval.ms': number;
  'log.segment.bytes': number;
  'log.roll.ms': number;
  'log.retention.ms': number;
  'log.retention.bytes': number;
  'log.cleanup.policy': string;
  'log.cleaner.delete.retention.ms': number;
  'log.cleaner.min.compaction.lag.ms': number;
  'message.max.bytes': number;
  'log.index.interval.bytes': number;
  'log.flush.interval.messages': number;
  'log.flush.interval.ms': number;
  'log.message.timestamp.type': string;
  /** How often retention runs. */
  'log.retention.check.interval.ms': number;
  /** How often compaction passes over compacted topics. */
  'log.cleaner.backoff.ms': number;
  /** How often flush.ms is checked. */
  'log.flush.scheduler.interval.ms': number;
  /** How often the recovery-point / log-start checkpoints are written. */
  'log.flush.offset.checkpoint.interval.ms': number;
  /** Idempotent producers silent this long are forgotten. */
  'producer.id.expiration.ms': number;
  // ---- cluster (issue 9): the control plane on etcd and replication (docs/OPERATIONS.md, "## Cluster")
  /** etcd client URLs, comma-separated; null = a standalone broker (no cluster at all). */
  'etcd.endpoints': string | null;
  /** The cluster this broker joins; null = the one in meta.json, else the etcd's default cluster. */
  'cluster.id': string | null;
  'broker.rack': string | null;
  'broker.session.timeout.ms': number;
  /** Hand leaderships over before leaving the cluster on close (Kafka's controlled shutdown). */
  'controlled.shutdown.enable': boolean;
  'controlled.shutdown.timeout.ms': number;
  'replica.lag.time.max.ms': number;
  'min.insync.replicas': number;
  'unclean.leader.election.enable': boolean;
  'auto.leader.rebalance.enable': boolean;
  'leader.imbalance.check.interval.seconds': number;
  'leader.imbalance.per.broker.percentage': number;
  'default.replication.factor': number;
  'replica.fetch.wait.max.ms': number;
  'replica.fetch.max.bytes': number;
  'replica.fetch.response.max.bytes': number;
  'replica.fetch.backoff.ms': number;
  // ---- security (broker/security/; docs/OPERATIONS.md, "## TLS")
  /** PLAINTEXT or SSL for the rill listener (and the broker's dials to other brokers). */
  'listener.security.protocol': string;
  /** PLAINTEXT or SSL for the Kafka listener. */
  'kafka.listener.security.protocol': string;
  'ssl.keystore.type': string;
  /** A PEM file holding the private key and the certificate chain. */
  'ssl.keystore.location': string | null;
  /** The private key as PEM text (instead of a file). */
  'ssl.keystore.key': string | null;
  /** The certificate chain as PEM text (with ssl.keystore.key). */
  'ssl.keystore.certificate.chain': string | null;
  /** Password of an encrypted private key. */
  'ssl.key.password': string | null;
  'ssl.truststore.type': string;
  /** A PEM file of CA certificates; null = node's built-in CA list. */
  'ssl.truststore.location': string | null;
  /** CA certificates as PEM text (instead of a file). */
  'ssl.truststore.certificates': string | null;
  /** none | requested | required: whether SSL listeners ask clients for a certificate. */
  'ssl.client.auth': string;
  'ssl.enabled.protocols': string;
  /** Comma-separated cipher suites (OpenSSL or IANA TLSv1.3 names); null = node's defaults. */
  'ssl.cipher.suites': string | null;
  /** https = check another broker's certificate against its host name; null or '' = do not. */
  'ssl.endpoint.identification.algorithm': string | null;
}

export type BrokerConfigKey = keyof BrokerConfig;

type KeyType = 'int' | 'string' | 'boolean';

interface KeySpec {
  readonly type: KeyType;
  readonly nullable?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** A secret (a key, a password): DescribeConfigs shows it as hidden, never its value. */
  readonly sensitive?: boolean;
  readonly doc: string;
}

const INT_MAX = 2 ** 31 - 1;

/**
 * The broker-level name of each topic-level log config, as Kafka names them. A LogConfig key
 * missing here would get `log.<name>`; every current key has an entry.
 */
export const BROKER_LOG_CONFIG_NAMES: Readonly<Record<string, BrokerConfigKey>> = Object.freeze({
  'segment.bytes': 'log.segment.bytes',
  'segment.ms': 'log.roll.ms',
  'retention.ms': 'log.retention.ms',
  'retention.bytes': 'log.retention.bytes',
  'cleanup.policy': 'log.cleanup.policy',
  'delete.retention.ms': 'log.cleaner.delete.retention.ms',
  'min.compaction.lag.ms': 'log.cleaner.min.compaction.lag.ms',
  'max.message.bytes': 'message.max.bytes',
  'index.interval.bytes': 'log.index.interval.bytes',
  'flush.messages': 'log.flush.interval.messages',
  'flush.ms': 'log.flush.interval.ms',
  'message.timestamp.type': 'log.message.timestamp.type',
});

const storageDefaults = logConfigToStrings(DEFAULT_LOG_CONFIG);

function logDefault(topicKey: string): number | string {
  const entry = LOG_CONFIG_KEYS.find((k) => k.name === topicKey);
  const raw = storageDefaults[topicKey]!;
  return entry !== undefined && (entry.type === 'int' || entry.type === 'long') ? Number(raw) : raw;
}

function logSpec(topicKey: string): KeySpec {
  const entry = LOG_CONFIG_KEYS.find((k) => k.name === topicKey);
  const numeric = entry !== undefined && (entry.type === 'int' || entry.type === 'long');
  // Range checks of log keys are storage's (parseLogConfig in logDefaultsOf).
  return { type: numeric ? 'int' : 'string', doc: `Default of the topic config \`${topicKey}\`. ${entry?.doc ?? ''}`.trim() };
}

export const BROKER_CONFIG_KEYS: Readonly<Record<BrokerConfigKey, KeySpec>> = Object.freeze({
  'node.id': { type: 'int', min: 0, max: INT_MAX, doc: 'This broker\'s id; must match the id recorded in the data dir.' },
  host: { type: 'string', doc: 'Interface the TCP listener binds to.' },
  port: { type: 'int', min: 0, max: 65535, doc: 'TCP port; 0 = ephemeral (reported in the "listening" line).' },
  'data.dir': { type: 'string', doc: 'Directory holding the logs, topics.json and meta.json.' },
  'metrics.port': { type: 'int', nullable: true, min: 0, max: 65535, doc: 'HTTP port serving /metrics; null = off, 0 = ephemeral.' },
  'advertised.host': { type: 'string', nullable: true, doc: 'Host given to clients in Metadata/FindCoordinator; null = host.' },
  'advertised.port': { type: 'int', nullable: true, min: 1, max: 65535, doc: 'Port given to clients; null = the bound port.' },
  'kafka.port': { type: 'int', nullable: true, min: 0, max: 65535, doc: 'TCP port of the Kafka-protocol listener (kcat, KafkaJS, librdkafka, the Java client); null = off, 0 = ephemeral.' },
  'kafka.host': { type: 'string', nullable: true, doc: 'Interface the Kafka listener binds to; null = host.' },
  'kafka.advertised.host': { type: 'string', nullable: true, doc: 'Host given to Kafka clients in Metadata/FindCoordinator; null = kafka.host, else host.' },
  'kafka.advertised.port': { type: 'int', nullable: true, min: 1, max: 65535, doc: 'Port given to Kafka clients; null = the Kafka port bound.' },
  'auto.create.topics.enable': { type: 'boolean', doc: 'Create a topic on first produce (or Metadata with allowAutoTopicCreation).' },
  'num.partitions': { type: 'int', min: 1, max: 100000, doc: 'Partitions of auto-created topics and of CreateTopics with numPartitions -1.' },
  'socket.request.max.bytes': { type: 'int', min: 1024, max: 2 ** 31 - 1, doc: 'Largest request frame; a bigger one closes the connection.' },
  'max.connections': { type: 'int', min: 1, max: 1_000_000, doc: 'Connections beyond this are closed at once, with a log line.' },
  'connections.max.idle.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Close a connection with no traffic and nothing in flight for this long.' },
  'max.inflight.requests.per.connection': { type: 'int', min: 1, max: 100000, doc: 'Requests read but not yet answered, per connection; at the bound the broker stops reading the socket.' },
  'max.inflight.bytes.per.connection': { type: 'int', min: 1024, max: 2 ** 31 - 1, doc: 'Request bytes read but not yet answered, per connection; at the bound the broker stops reading the socket.' },
  'fetch.max.bytes': { type: 'int', min: 1024, max: 2 ** 31 - 1, doc: 'Upper bound on a fetch response\'s maxBytes.' },
  'fetch.purgatory.max.requests': { type: 'int', min: 0, max: 10_000_000, doc: 'Fetches parked waiting for data, broker-wide; beyond it a fetch is answered at once with what there is.' },
  'producer.id.block.size': { type: 'int', min: 1, max: 1_000_000, doc: 'Producer ids reserved in meta.json per write; ids are never reused across restarts.' },
  'shutdown.timeout.ms': { type: 'int', min: 0, max: INT_MAX, doc: 'How long a graceful close waits for in-flight requests.' },
  'group.consumer.session.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'A member silent for this long is expelled from its group.' },
  'group.consumer.heartbeat.interval.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Heartbeat interval the coordinator tells members to use.' },
  'group.consumer.min.session.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Smallest session timeout a member may ask for.' },
  'group.consumer.max.session.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Largest session timeout a member may ask for.' },
  'group.consumer.rebalance.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How long a member may take to revoke partitions it must give up.' },
  'group.consumer.max.size': { type: 'int', min: 1, max: INT_MAX, doc: 'Members per group; one more is refused with GROUP_MAX_SIZE_REACHED.' },
  'group.initial.rebalance.delay.ms': { type: 'int', min: 0, max: INT_MAX, doc: 'Classic groups: the first rebalance of an empty group waits this long (extended while members keep joining, up to the rebalance timeout).' },
  'group.min.session.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Classic groups: smallest session timeout a JoinGroup may ask for (else INVALID_SESSION_TIMEOUT).' },
  'group.max.session.timeout.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'Classic groups: largest session timeout a JoinGroup may ask for (else INVALID_SESSION_TIMEOUT).' },
  'group.max.size': { type: 'int', min: 1, max: INT_MAX, doc: 'Classic groups: members per group; one more is refused with GROUP_MAX_SIZE_REACHED.' },
  'offsets.topic.num.partitions': { type: 'int', min: 1, max: 1000, doc: 'Partitions of __consumer_offsets (Kafka: 50; rill: 10). Fixed once the topic exists.' },
  'offsets.retention.minutes': { type: 'int', min: 1, max: INT_MAX, doc: 'Committed offsets of a group are deleted once it has had no live members for this long and they were committed longer ago than this (KIP-211). The clock of an idle group restarts when its coordinator loads it (rill does not persist when a group became empty).' },
  'offsets.retention.check.interval.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How often the coordinator looks for committed offsets past offsets.retention.minutes.' },
  'offsets.topic.replication.factor': { type: 'int', min: 1, max: 32767, doc: 'Replication factor of __consumer_offsets in a cluster, capped at the live brokers when the topic is created (on first need).' },
  'log.segment.bytes': logSpec('segment.bytes'),
  'log.roll.ms': logSpec('segment.ms'),
  'log.retention.ms': logSpec('retention.ms'),
  'log.retention.bytes': logSpec('retention.bytes'),
  'log.cleanup.policy': logSpec('cleanup.policy'),
  'log.cleaner.delete.retention.ms': logSpec('delete.retention.ms'),
  'log.cleaner.min.compaction.lag.ms': logSpec('min.compaction.lag.ms'),
  'message.max.bytes': logSpec('max.message.bytes'),
  'log.index.interval.bytes': logSpec('index.interval.bytes'),
  'log.flush.interval.messages': logSpec('flush.messages'),
  'log.flush.interval.ms': logSpec('flush.ms'),
  'log.message.timestamp.type': logSpec('message.timestamp.type'),
  'log.retention.check.interval.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How often retention deletes expired segments.' },
  'log.cleaner.backoff.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How often compaction passes over the compacted topics.' },
  'log.flush.scheduler.interval.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How often logs are checked against their flush.ms.' },
  'log.flush.offset.checkpoint.interval.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'How often the recovery-point and log-start-offset checkpoints are written.' },
  'producer.id.expiration.ms': { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, doc: 'Idempotent producers silent this long are forgotten by the partitions (their next batch starts a new sequence history).' },
  // ---- cluster (issue 9)
  'etcd.endpoints': { type: 'string', nullable: true, doc: 'etcd client URLs, comma-separated (http://h1:2379,http://h2:2379); null = standalone broker.' },
  'cluster.id': { type: 'string', nullable: true, doc: 'Cluster to join ([A-Za-z0-9._-], 1-128 chars); null = the one recorded in meta.json, or the etcd\'s default cluster on a fresh data dir.' },
  'broker.rack': { type: 'string', nullable: true, doc: 'Rack of this broker; replica placement spreads replicas over racks when every broker has one.' },
  'broker.session.timeout.ms': { type: 'int', min: 1000, max: INT_MAX, doc: 'A broker silent this long loses its etcd lease; its partitions move to other replicas.' },
  'controlled.shutdown.enable': { type: 'boolean', doc: 'On close, ask the controller to move this broker\'s leaderships to other in-sync replicas and wait for it (while still serving) before leaving the cluster.' },
  'controlled.shutdown.timeout.ms': { type: 'int', min: 0, max: INT_MAX, doc: 'Longest wait of a controlled shutdown for the leaderships to move; then the broker closes anyway.' },
  'replica.lag.time.max.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'A follower not caught up for this long leaves the ISR.' },
  'min.insync.replicas': { type: 'int', min: 1, max: INT_MAX, doc: 'Default of the topic config: acks=all needs at least this many replicas in the ISR.' },
  'unclean.leader.election.enable': { type: 'boolean', doc: 'Elect a replica outside the ISR when no ISR member is live (loses acknowledged records).' },
  'auto.leader.rebalance.enable': { type: 'boolean', doc: 'The controller moves leadership back to preferred replicas periodically.' },
  'leader.imbalance.check.interval.seconds': { type: 'int', min: 1, max: INT_MAX, doc: 'How often the controller checks leader imbalance.' },
  'leader.imbalance.per.broker.percentage': { type: 'int', min: 0, max: 100, doc: 'Share of a broker\'s preferred partitions led elsewhere that triggers a rebalance.' },
  'default.replication.factor': { type: 'int', min: 1, max: 1000, doc: 'Replication factor of auto-created topics and of CreateTopics with replicationFactor -1.' },
  'replica.fetch.wait.max.ms': { type: 'int', min: 0, max: INT_MAX, doc: 'Longest wait of a follower\'s fetch at the leader.' },
  'replica.fetch.max.bytes': { type: 'int', min: 1024, max: INT_MAX, doc: 'Bytes a follower fetches per partition per request.' },
  'replica.fetch.response.max.bytes': { type: 'int', min: 1024, max: INT_MAX, doc: 'Bytes of one follower fetch response.' },
  'replica.fetch.backoff.ms': { type: 'int', min: 1, max: INT_MAX, doc: 'A follower\'s first wait after a failed fetch (doubling, capped).' },
  // ---- security
  'listener.security.protocol': { type: 'string', doc: 'PLAINTEXT or SSL: the rill listener (host:port), and how this broker dials other brokers for replication.' },
  'kafka.listener.security.protocol': { type: 'string', doc: 'PLAINTEXT or SSL: the Kafka listener (kafka.host:kafka.port).' },
  'ssl.keystore.type': { type: 'string', doc: 'Format of the keystore: only PEM.' },
  'ssl.keystore.location': { type: 'string', nullable: true, doc: 'PEM file with the private key and the certificate chain (leaf first) of the SSL listeners.' },
  'ssl.keystore.key': { type: 'string', nullable: true, sensitive: true, doc: 'The private key as PEM text, instead of ssl.keystore.location.' },
  'ssl.keystore.certificate.chain': { type: 'string', nullable: true, doc: 'The certificate chain as PEM text, with ssl.keystore.key.' },
  'ssl.key.password': { type: 'string', nullable: true, sensitive: true, doc: 'Password of an encrypted private key.' },
  'ssl.truststore.type': { type: 'string', doc: 'Format of the truststore: only PEM.' },
  'ssl.truststore.location': { type: 'string', nullable: true, doc: 'PEM file of the CA certificates that verify client certificates and other brokers; null = node\'s built-in CA list.' },
  'ssl.truststore.certificates': { type: 'string', nullable: true, doc: 'The CA certificates as PEM text, instead of ssl.truststore.location.' },
  'ssl.client.auth': { type: 'string', doc: 'none | requested | required: ask SSL clients for a certificate (requested: a client may send none; a certificate sent must verify).' },
  'ssl.enabled.protocols': { type: 'string', doc: 'TLS versions accepted, comma-separated: TLSv1.2, TLSv1.3.' },
  'ssl.cipher.suites': { type: 'string', nullable: true, doc: 'Cipher suites, comma-separated (OpenSSL names for TLSv1.2, IANA names for TLSv1.3); null = node\'s defaults.' },
  'ssl.endpoint.identification.algorithm': { type: 'string', nullable: true, doc: 'https: when dialing another broker over SSL, check its certificate names the host dialed; empty or null: do not.' },
});

export const DEFAULT_BROKER_CONFIG: Readonly<BrokerConfig> = Object.freeze({
  'node.id': 0,
  host: '127.0.0.1',
  port: 9292,
  'data.dir': './data',
  'metrics.port': null,
  'advertised.host': null,
  'advertised.port': null,
  'kafka.port': null,
  'kafka.host': null,
  'kafka.advertised.host': null,
  'kafka.advertised.port': null,
  'auto.create.topics.enable': true,
  'num.partitions': 3,
  'socket.request.max.bytes': 100 * MiB,
  'max.connections': 1000,
  'connections.max.idle.ms': 600_000,
  'max.inflight.requests.per.connection': 100,
  'max.inflight.bytes.per.connection': 64 * MiB,
  'fetch.max.bytes': 55 * MiB,
  'fetch.purgatory.max.requests': 10_000,
  'producer.id.block.size': 1000,
  'shutdown.timeout.ms': 10_000,
  'group.consumer.session.timeout.ms': 45_000,
  'group.consumer.heartbeat.interval.ms': 3000,
  'group.consumer.min.session.timeout.ms': 1000,
  'group.consumer.max.session.timeout.ms': 1_800_000,
  'group.consumer.rebalance.timeout.ms': 300_000,
  'group.consumer.max.size': 1000,
  'group.initial.rebalance.delay.ms': 3000,
  'group.min.session.timeout.ms': 6000,
  'group.max.session.timeout.ms': 1_800_000,
  // Kafka's default is unbounded (2^31-1); rill bounds the members it keeps in memory per group.
  'group.max.size': 1000,
  'offsets.topic.num.partitions': 10,
  'offsets.topic.replication.factor': 3,
  'offsets.retention.minutes': 10080,
  'offsets.retention.check.interval.ms': 600000,
  'log.segment.bytes': logDefault('segment.bytes') as number,
  'log.roll.ms': logDefault('segment.ms') as number,
  'log.retention.ms': logDefault('retention.ms') as number,
  'log.retention.bytes': logDefault('retention.bytes') as number,
  'log.cleanup.policy': logDefault('cleanup.policy') as string,
  'log.cleaner.delete.retention.ms': logDefault('delete.retention.ms') as number,
  'log.cleaner.min.compaction.lag.ms': logDefault('min.compaction.lag.ms') as number,
  'message.max.bytes': logDefault('max.message.bytes') as number,
  'log.index.interval.bytes': logDefault('index.interval.bytes') as number,
  'log.flush.interval.messages': logDefault('flush.messages') as number,
  'log.flush.interval.ms': logDefault('flush.ms') as number,
  'log.message.timestamp.type': logDefault('message.timestamp.type') as string,
  'log.retention.check.interval.ms': 300_000,
  'log.cleaner.backoff.ms': 15_000,
  'log.flush.scheduler.interval.ms': 1000,
  'log.flush.offset.checkpoint.interval.ms': 60_000,
  'producer.id.expiration.ms': 86_400_000,
  // ---- cluster (issue 9)
  'etcd.endpoints': null,
  'cluster.id': null,
  'broker.rack': null,
  'broker.session.timeout.ms': 9000,
  'controlled.shutdown.enable': true,
  'controlled.shutdown.timeout.ms': 30_000,
  'replica.lag.time.max.ms': 30_000,
  'min.insync.replicas': 1,
  'unclean.leader.election.enable': false,
  'auto.leader.rebalance.enable': true,
  'leader.imbalance.check.interval.seconds': 300,
  'leader.imbalance.per.broker.percentage': 10,
  'default.replication.factor': 1,
  'replica.fetch.wait.max.ms': 500,
  'replica.fetch.max.bytes': MiB,
  'replica.fetch.response.max.bytes': 10 * MiB,
  'replica.fetch.backoff.ms': 1000,
  // ---- security
  'listener.security.protocol': 'PLAINTEXT',
  'kafka.listener.security.protocol': 'PLAINTEXT',
  'ssl.keystore.type': 'PEM',
  'ssl.keystore.location': null,
  'ssl.keystore.key': null,
  'ssl.keystore.certificate.chain': null,
  'ssl.key.password': null,
  'ssl.truststore.type': 'PEM',
  'ssl.truststore.location': null,
  'ssl.truststore.certificates': null,
  'ssl.client.auth': 'none',
  'ssl.enabled.protocols': 'TLSv1.2,TLSv1.3',
  'ssl.cipher.suites': null,
  'ssl.endpoint.identification.algorithm': 'https',
});

function isKey(name: string): name is BrokerConfigKey {
  return Object.prototype.hasOwnProperty.call(BROKER_CONFIG_KEYS, name);
}

function coerceValue(name: BrokerConfigKey, raw: unknown): BrokerConfig[BrokerConfigKey] {
  const spec = BROKER_CONFIG_KEYS[name];
  if (raw === null || (spec.nullable === true && raw === 'null')) {
    if (spec.nullable === true) return null;
    throw rillError('INVALID_CONFIG', `${name}: must not be null`);
  }
  switch (spec.type) {
    case 'int': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) n = Number(raw.trim());
      else throw rillError('INVALID_CONFIG', `${name}: expected an integer, got ${JSON.stringify(raw)}`);
      // Kafka's Long.MAX_VALUE defaults clamp to the largest exact JS integer (as storage does).
      if (n > Number.MAX_SAFE_INTEGER) n = Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(n)) throw rillError('INVALID_CONFIG', `${name}: expected an integer, got ${JSON.stringify(raw)}`);
      const min = spec.min ?? -Number.MAX_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (n < min || n > max) throw rillError('INVALID_CONFIG', `${name}: expected an integer in [${min}, ${max}], got ${n}`);
      return n;
    }
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw rillError('INVALID_CONFIG', `${name}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'string':
      if (typeof raw !== 'string') throw rillError('INVALID_CONFIG', `${name}: expected a string, got ${JSON.stringify(raw)}`);
      if (raw.length === 0 && spec.nullable !== true) throw rillError('INVALID_CONFIG', `${name}: must not be empty`);
      return raw;
  }
}

/**
 * Typed values from loosely typed input (a JSON file, CLI strings). Unknown keys and values
 * of the wrong type throw INVALID_CONFIG naming the key; `undefined` values are skipped.
 */
export function coerceBrokerConfig(raw: Record<string, unknown>): Partial<BrokerConfig> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (!isKey(name)) throw rillError('INVALID_CONFIG', `${name}: unknown broker config (see docs/OPERATIONS.md, "## Broker")`);
    out[name] = coerceValue(name, value);
  }
  return out as Partial<BrokerConfig>;
}

/** The topic-level LogConfig every topic starts from: the broker's `log.*` keys over storage's defaults. */
export function logDefaultsOf(config: BrokerConfig): LogConfig {
  const overrides: Record<string, string> = {};
  for (const entry of LOG_CONFIG_KEYS) {
    const brokerKey = BROKER_LOG_CONFIG_NAMES[entry.name];
    if (brokerKey === undefined) continue;
    overrides[entry.name] = String(config[brokerKey]);
  }
  try {
    return parseLogConfig(overrides);
  } catch (err) {
    // Report the broker-level name the operator wrote, not the topic-level one.
    const message = (err as Error).message.replace(/^([a-z.]+):/, (_m, topicKey: string) => `${BROKER_LOG_CONFIG_NAMES[topicKey] ?? topicKey}:`);
    throw rillError('INVALID_CONFIG', message);
  }
}

/** Defaults + `partial`, validated (every key, plus the cross-key rules). */
export function resolveBrokerConfig(partial: Partial<BrokerConfig>): BrokerConfig {
  const typed = coerceBrokerConfig(partial as Record<string, unknown>);
  const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, ...typed };
  validateBrokerConfig(config);
  return config;
}

/** Throws INVALID_CONFIG on the first bad value; returns the config for chaining. */
export function validateBrokerConfig(config: BrokerConfig): BrokerConfig {
  for (const name of Object.keys(BROKER_CONFIG_KEYS) as BrokerConfigKey[]) coerceValue(name, config[name]);
  for (const name of Object.keys(config)) {
    if (!isKey(name)) throw rillError('INVALID_CONFIG', `${name}: unknown broker config`);
  }
  if (
    config['group.consumer.min.session.timeout.ms'] > config['group.consumer.session.timeout.ms'] ||
    config['group.consumer.session.timeout.ms'] > config['group.consumer.max.session.timeout.ms']
  ) {
    throw rillError('INVALID_CONFIG', 'group.consumer.session.timeout.ms: must lie within [group.consumer.min.session.timeout.ms, group.consumer.max.session.timeout.ms]');
  }
  if (config['group.consumer.heartbeat.interval.ms'] >= config['group.consumer.session.timeout.ms']) {
    throw rillError('INVALID_CONFIG', 'group.consumer.heartbeat.interval.ms: must be below group.consumer.session.timeout.ms');
  }
  if (config['group.min.session.timeout.ms'] > config['group.max.session.timeout.ms']) {
    throw rillError('INVALID_CONFIG', 'group.min.session.timeout.ms: must not exceed group.max.session.timeout.ms');
  }
  checkSecurityConfig(config);
  logDefaultsOf(config);
  return config;
}

/** What DescribeConfigs shows for a sensitive key that is set. */
export const HIDDEN_CONFIG_VALUE = '[hidden]';

/** A secret broker key (a key, a password): never shown by DescribeConfigs. */
export function isSensitiveBrokerKey(name: string): boolean {
  return isKey(name) && BROKER_CONFIG_KEYS[name].sensitive === true;
}

/**
 * Every key as DescribeConfigs reports it for the broker resource: strings, null stays null,
 * a sensitive key that is set shows as HIDDEN_CONFIG_VALUE.
 */
export function brokerConfigToStrings(config: BrokerConfig): Record<BrokerConfigKey, string | null> {
  const out = {} as Record<BrokerConfigKey, string | null>;
  for (const name of Object.keys(BROKER_CONFIG_KEYS) as BrokerConfigKey[]) {
    const v = config[name];
    out[name] = v === null ? null : BROKER_CONFIG_KEYS[name].sensitive === true ? HIDDEN_CONFIG_VALUE : String(v);
  }
  return out;
}
