/**
 * What a system under the peers benchmark (bench/peers.bench.ts) must provide: start its
 * servers on loopback (free ports, temp dirs), and a client adapter built on that system's own
 * official Node client. The workload (bench/peers/workload.ts) drives every system through this
 * interface alone, so a new system is one module that implements it.
 */
import type { ProcessGroup } from '../processes.js';

/** The workload's partition count: rill partitions, NATS subjects of one stream (Redis: one key). */
export const PARTITIONS = 3;

export interface StartContext {
  /** Every process started goes in here: it kills them on exit or SIGINT/SIGTERM. */
  group: ProcessGroup;
  /** A temp dir of this system's own (removed by the caller after stop()). */
  dir: string;
}

/** A started system: its servers and a connected client. */
export interface RunningPeer {
  /** The server processes (brokers, etcd, nats-server, redis-server) whose CPU is counted. */
  serverPids(): number[];
  /** Creates an empty topic / stream / key named `name` (letters, digits and '-'). */
  createTopic(name: string): Promise<void>;
  /** Removes what createTopic made (frees disk between rounds). */
  deleteTopic(name: string): Promise<void>;
  /**
   * Writes `values` (the workload's chunk; value `i` is message `firstIndex + i`, which picks its
   * partition or subject: index % PARTITIONS) and resolves once every one is acknowledged.
   */
  produceChunk(topic: string, values: Buffer[], firstIndex: number, signal: AbortSignal): Promise<void>;
  /**
   * Reads `topic` from its beginning, calling `onValue` for each message, until `expected`
   * messages were read (resolves) or `signal` aborts (rejects).
   */
  consume(topic: string, expected: number, onValue: (value: Uint8Array) => void, signal: AbortSignal): Promise<void>;
  /** Starts reading `topic` from its current end; resolves once reading. */
  tail(topic: string, onValue: (value: Uint8Array) => void): Promise<Tail>;
  /** Sends one message (message number `index`) and resolves on its acknowledgement. */
  sendOne(topic: string, value: Buffer, index: number): Promise<void>;
  /** Closes the client and stops every server process. */
  stop(): Promise<void>;
}

export interface Tail {
  stop(): Promise<void>;
}

export interface PeerSystem {
  /** The --systems name. */
  id: string;
  /** The table's label: the system and its configuration in a few words. */
  label: string;
  /** What an acknowledgement means in this configuration (docs and the report). */
  guarantee: string;
  start(ctx: StartContext): Promise<RunningPeer>;
}

/** A promise and the function that settles it, for callbacks that end a wait. */
export function latch(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
