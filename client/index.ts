/**
 * rill's client SDK (`import { Rill } from 'rill'`). See docs/CLIENT.md.
 */
export { Rill } from './rill.js';
export { Producer } from './producer/producer.js';
export { NO_METRICS, type ClientMetrics, type MetricsConfig } from './metrics.js';
export { Consumer } from './consumer/consumer.js';
export type { AssignOptions, ProcessedOffset } from './consumer/types.js';
export { ConsumerHandlerError, DLQ_HEADERS, DLQ_ERROR_MAX_CHARS } from './consumer/group/retry-dlq.js';
export type { CommittedOffset } from './consumer/group/offset-committer.js';
export { Admin, type AdminCallOptions, type CreateTopicsOptions } from './admin/admin.js';
export { serializers, json, msgpack, string, type Serializer } from './serializers.js';
export {
  ConnectionError,
  TlsHandshakeError,
  CorruptBatchError,
  ERRORS,
  BufferExhaustedError,
  ErrorCode,
  FrameTooLargeError,
  RequestQueueFullError,
  RillError,
  TimeoutError,
  errorFromCode,
  isRetriable,
  type ErrorName,
} from './errors.js';
export type * from './types.js';
export type {
  GroupOverview,
  GroupDescription,
  GroupMemberDescription,
  GroupPartitionDescription,
  GroupTopicPartitions,
  CommittedOffsets,
  ClusterBroker,
  ClusterDescription,
  ElectLeadersOptions,
  LeaderElectionResult,
  LeaderElectionType,
  ResetOffsetsOptions,
  ResetOffsetsResult,
} from './admin/admin.js';
export {
  parseIsoDuration,
  parseIsoDatetime,
  parseResetPlanCsv,
  formatResetPlanCsv,
  type ResetStrategy,
  type PlannedOffset,
  type PlanOffset,
  type TopicScope,
} from './admin/offset-reset.js';
