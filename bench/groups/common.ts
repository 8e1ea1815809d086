/**
 * What the consumer-group benchmark's parent (bench/groups.bench.ts) and its consumer
 * processes (bench/groups/consumer.ts) say to each other over IPC.
 *
 * Times are `Date.now()` in each process: every process runs on this machine's one clock, and
 * the figures measured with them (seconds of failover) dwarf its millisecond resolution.
 */

/** parent -> child: join the group and consume (the child answers 'started'). */
export interface StartCommand {
  type: 'start';
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  autoCommitIntervalMs: number;
  each: EachMode;
}

/** parent -> child: leave the group cleanly (close()), then exit. */
export interface CloseCommand {
  type: 'close';
}

export type ParentCommand = StartCommand | CloseCommand;

export type EachMode = 'message' | 'batch';

export interface StartedEvent {
  type: 'started';
}

/**
 * child -> parent, at most every PROGRESS_INTERVAL_MS while something changed: messages handled
 * so far and, per partition, the offset after the highest one handled.
 */
export interface ProgressEvent {
  type: 'progress';
  messages: number;
  nextOffsets: Record<number, number>;
  /** The longest event-loop delay so far (ms): a member starved this long cannot heartbeat either. */
  eventLoopMaxMs: number;
}

/** child -> parent: the partitions it owns changed. */
export interface AssignmentEvent {
  type: 'assignment';
  partitions: number[];
  atMs: number;
}

/** child -> parent: the first message of a newly assigned partition was handled. */
export interface FirstMessageEvent {
  type: 'first-message';
  partition: number;
  offset: number;
  atMs: number;
}

export interface ClosedEvent {
  type: 'closed';
  atMs: number;
}

export interface FailedEvent {
  type: 'failed';
  message: string;
}

export type ChildEvent = StartedEvent | ProgressEvent | AssignmentEvent | FirstMessageEvent | ClosedEvent | FailedEvent;

export const PROGRESS_INTERVAL_MS = 50;
