/**
 * A topic's config overrides (used by topic-registry.ts): which keys are the cluster's rather
 * than storage's, and Kafka's incremental AlterConfigs applied to a set of overrides. The
 * effective LogConfig of a topic is its log overrides over the broker's `log.*` defaults.
 */
import { rillError } from '../protocol/errors.js';
import { logConfigKey, parseLogConfig, type LogConfig } from '../storage/log-config.js';

/** Topic configs that are the cluster's, not the log's: valid on a topic, ignored by storage. */
export const CLUSTER_TOPIC_CONFIG_KEYS: ReadonlySet<string> = new Set(['min.insync.replicas', 'unclean.leader.election.enable']);

/** One AlterConfigs change: set `name`, or revert it to the broker default when `value` is null. */
export interface TopicConfigChange {
  name: string;
  value: string | null;
}

/** The overrides storage understands (the cluster-only keys left out). */
export function logOverridesOf(configs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configs)) if (!CLUSTER_TOPIC_CONFIG_KEYS.has(k)) out[k] = v;
  return out;
}

/** Throws INVALID_CONFIG when a cluster-only key has a value the cluster cannot use. */
export function checkClusterTopicConfigs(configs: Record<string, string>): void {
  const mir = configs['min.insync.replicas'];
  if (mir !== undefined && !/^[1-9][0-9]{0,8}$/.test(mir)) throw rillError('INVALID_CONFIG', `min.insync.replicas: expected a positive integer, got '${mir}'`);
  const unclean = configs['unclean.leader.election.enable'];
  if (unclean !== undefined && unclean !== 'true' && unclean !== 'false') throw rillError('INVALID_CONFIG', `unclean.leader.election.enable: expected true or false, got '${unclean}'`);
}

export function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * Kafka's incremental changes over `configs`, checked against `logDefaults` (and, `clustered`,
 * the cluster-only keys too); returns the new overrides. Throws INVALID_CONFIG (unknown key,
 * bad value) or INVALID_REQUEST (a key given twice) before anything is applied.
 */
export function applyTopicConfigChanges(configs: Readonly<Record<string, string>>, changes: ReadonlyArray<TopicConfigChange>, clustered: boolean, logDefaults: LogConfig): Record<string, string> {
  const overrides: Record<string, string> = { ...configs };
  const seen = new Set<string>();
  for (const change of changes) {
    if (seen.has(change.name)) throw rillError('INVALID_REQUEST', `${change.name}: given twice in one request`);
    seen.add(change.name);
    const known = logConfigKey(change.name) !== undefined || (clustered && CLUSTER_TOPIC_CONFIG_KEYS.has(change.name));
    if (!known) throw rillError('INVALID_CONFIG', `${change.name}: unknown topic config`);
    if (change.value === null) delete overrides[change.name];
    else overrides[change.name] = change.value;
  }
  if (clustered) checkClusterTopicConfigs(overrides);
  parseLogConfig(clustered ? logOverridesOf(overrides) : overrides, logDefaults);
  return overrides;
}
