/**
 * Which cluster a broker started with `etcd.endpoints` joins, decided before its data dir is
 * opened (broker-metadata.ts then refuses a dir recorded for another cluster):
 *
 *   cluster.id given           → that one;
 *   meta.json records one      → that one (a restart needs no --cluster-id);
 *   neither (a fresh data dir) → the etcd's default cluster: the id stored at
 *                                `/rill-default-cluster-id`, created if absent (by transaction,
 *                                so brokers starting together on a fresh etcd agree on one).
 *
 * The default key sits outside every cluster's `/rill/<clusterId>/` namespace on purpose: it
 * names a cluster, it belongs to none.
 */
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { RillError, rillError } from '../protocol/errors.js';
import { isValidClusterId } from './cluster/keys.js';

export const DEFAULT_CLUSTER_ID_KEY = '/rill-default-cluster-id';

/** `etcd.endpoints` as a list; INVALID_CONFIG when it holds no URL. */
export function parseEtcdEndpoints(value: string): string[] {
  const endpoints = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (endpoints.length === 0) throw rillError('INVALID_CONFIG', `etcd.endpoints: expected comma-separated URLs, got '${value}'`);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) throw rillError('INVALID_CONFIG', `etcd.endpoints: '${e}' is not an http(s)://host:port URL`);
  }
  return endpoints;
}

export async function resolveClusterId(endpoints: string[], given: string | null, recorded: string | null, timeoutMs: number): Promise<string> {
  const chosen = given ?? recorded;
  if (chosen !== null) {
    if (!isValidClusterId(chosen)) throw rillError('INVALID_CONFIG', `cluster.id '${chosen.slice(0, 200)}' is invalid: use 1 to 128 characters of [A-Za-z0-9._-]`);
    return chosen;
  }
  const client = new Etcd3({ hosts: endpoints, dialTimeout: timeoutMs, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }) });
  try {
    const fresh = randomBytes(16).toString('base64url');
    await client.if(DEFAULT_CLUSTER_ID_KEY, 'Create', '==', 0).then(client.put(DEFAULT_CLUSTER_ID_KEY).value(fresh)).commit();
    const id = await client.get(DEFAULT_CLUSTER_ID_KEY).string();
    if (id === null || !isValidClusterId(id)) throw rillError('INVALID_CONFIG', `etcd key ${DEFAULT_CLUSTER_ID_KEY} holds no valid cluster id (${JSON.stringify(id)}); give --cluster-id`);
    return id;
  } catch (err) {
    if (err instanceof RillError) throw err;
    throw rillError('INVALID_CONFIG', `etcd at ${endpoints.join(',')}: cannot read the default cluster id (${(err as Error).message})`, { cause: err });
  } finally {
    client.close();
  }
}
