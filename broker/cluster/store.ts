/**
 * A thin typed store over one cluster's etcd keys (keys.ts): an etcd3 client with a namespace
 * at `/rill/<clusterId>/`, reads that validate every value against its schema (schemas.ts)
 * and return it with the revisions writers compare against, and the raw namespace for the
 * transactions the session, controller and allocator build themselves.
 *
 * Revisions are etcd's int64s; they stay below 2^53 for any real cluster, so they are numbers.
 */
import { Etcd3, type IKeyValue, type Namespace, type Watcher } from 'etcd3';
import { RillError, ERRORS, rillError } from '../../protocol/errors.js';
import { clusterPrefix, isValidClusterId } from './keys.js';
import type { RecordType } from './schemas.js';

/** A value read from etcd with the revisions a compare-and-swap names. */
export interface Versioned<T> {
  readonly key: string;
  readonly value: T;
  readonly createRevision: number;
  readonly modRevision: number;
  /** The lease the key is attached to, '0' for none. */
  readonly lease: string;
}

/** A key whose value does not match its schema: someone else wrote it, or a bug did. */
export class InvalidClusterRecordError extends RillError {
  readonly key: string;
  constructor(key: string, what: string, detail: string) {
    super(ERRORS.UNKNOWN_SERVER_ERROR.code, `etcd key '${key}' does not hold a valid ${what}: ${detail}`);
    this.name = 'InvalidClusterRecordError';
    this.key = key;
  }
}

export interface ClusterStoreOptions {
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  clusterId: string;
  /** Deadline of each unary etcd call; streams (watches, keep-alives) have none. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export function decodeRecord<T>(kv: IKeyValue, type: RecordType<T>): Versioned<T> {
  const key = kv.key.toString();
  let parsed: unknown;
  try {
    parsed = JSON.parse(kv.value.toString());
  } catch (err) {
    throw new InvalidClusterRecordError(key, type.name, `not JSON (${(err as Error).message})`);
  }
  if (!type.check.Check(parsed)) {
    const first = type.check.Errors(parsed).First();
    throw new InvalidClusterRecordError(key, type.name, first === undefined ? 'schema mismatch' : `${first.path || '/'} ${first.message}`);
  }
  return { key, value: parsed as T, createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision), lease: kv.lease };
}

export function encodeRecord(value: unknown): string {
  return JSON.stringify(value);
}

export class ClusterStore {
  readonly clusterId: string;
  /** The root client: leases are granted through it. */
  readonly client: Etcd3;
  /** Every key of this cluster, relative to `/rill/<clusterId>/`. */
  readonly ns: Namespace;

  constructor(options: ClusterStoreOptions) {
    if (!isValidClusterId(options.clusterId)) {
      throw rillError('INVALID_CONFIG', `cluster id '${options.clusterId.slice(0, 200)}' is invalid: use 1 to 128 characters of [A-Za-z0-9._-]`);
    }
    if (options.endpoints.length === 0) throw rillError('INVALID_CONFIG', 'etcd: at least one endpoint is needed');
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.clusterId = options.clusterId;
    this.client = new Etcd3({
      hosts: options.endpoints,
      dialTimeout: timeoutMs,
      // A hung etcd must not hang a broker: every unary call gets a deadline.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    });
    this.ns = this.client.namespace(clusterPrefix(options.clusterId));
  }

  async get<T>(key: string, type: RecordType<T>): Promise<Versioned<T> | null> {
    const res = await this.ns.get(key).exec();
    const kv = res.kvs[0];
    return kv === undefined ? null : decodeRecord(kv, type);
  }

  /**
   * Every key under `prefix` at one revision (returned, so a watch can start right after it).
   * Keys whose value fails validation are returned apart, in `invalid`, for the caller to report.
   */
  async list<T>(prefix: string, type: RecordType<T>): Promise<{ revision: number; records: Array<Versioned<T>>; invalid: InvalidClusterRecordError[] }> {
    const res = await this.ns.getAll().prefix(prefix).exec();
    const records: Array<Versioned<T>> = [];
    const invalid: InvalidClusterRecordError[] = [];
    for (const kv of res.kvs) {
      try {
        records.push(decodeRecord(kv, type));
      } catch (err) {
        if (!(err instanceof InvalidClusterRecordError)) throw err;
        invalid.push(err);
      }
    }
    return { revision: Number(res.header.revision), records, invalid };
  }

  /** Every raw key of the cluster at one revision (for caches that parse by key kind). */
  async snapshot(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    const res = await this.ns.getAll().exec();
    return { revision: Number(res.header.revision), kvs: res.kvs };
  }

  /**
   * Watches a key or a prefix for as long as the caller wants, surviving watch failures: the
   * watch is opened first and `resync` runs after every (re)open, so a caller that re-reads what
   * it needs in `resync` misses nothing (it may see an event twice; handlers must be idempotent).
   * A failed watch (etcd gone, revision compacted) is reopened after `retryMs`.
   */
  async follow(target: { key: string } | { prefix: string }, handlers: FollowHandlers, retryMs = 500): Promise<Follow> {
    let watcher: Watcher | null = null;
    let timer: NodeJS.Timeout | null = null;
    let cancelled = false;
    const open = async (): Promise<void> => {
      const builder = 'key' in target ? this.ns.watch().key(target.key) : this.ns.watch().prefix(target.prefix);
      const w = await builder.create();
      if (cancelled) {
        await w.cancel();
        return;
      }
      watcher = w;
      w.on('put', (kv) => handlers.put?.(kv));
      w.on('delete', (kv) => handlers.delete?.(kv));
      w.on('error', (err) => {
        handlers.error?.(err);
        if (watcher === w) reopenSoon();
      });
      handlers.resync();
    };
    const reopenSoon = (): void => {
      watcher = null;
      if (cancelled) return;
      timer = setTimeout(() => {
        open().catch((err: unknown) => {
          handlers.error?.(err as Error);
          reopenSoon();
        });
      }, retryMs);
    };
    await open();
    return {
      async cancel() {
        cancelled = true;
        if (timer !== null) clearTimeout(timer);
        const w = watcher;
        watcher = null;
        await w?.cancel().catch(() => undefined);
      },
    };
  }

  close(): void {
    this.client.close();
  }
}

export interface FollowHandlers {
  put?(kv: IKeyValue): void;
  delete?(kv: IKeyValue): void;
  /** After every (re)open of the watch: re-read whatever the caller keeps. */
  resync(): void;
  error?(err: Error): void;
}

export interface Follow {
  cancel(): Promise<void>;
}
