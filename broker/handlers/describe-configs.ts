/**
 * DescribeConfigs.
 *
 * Topic resources: every topic-level log config with its effective value; `source` is 'topic'
 * for an override, 'broker' when the value comes from a broker `log.*` key that differs from
 * Kafka's default, 'default' otherwise; `isDefault` is true unless overridden on the topic.
 *
 * Broker resources (resourceName = this broker's node id, or '' for "this broker"): every
 * broker config key, read-only (they change by restarting with a new config).
 *
 * In a cluster a topic also reports `min.insync.replicas` and `unclean.leader.election.enable`
 * (the broker key of the same name is their default).
 *
 * `configNames` filters; names that are not configs are left out (as Kafka does).
 */
import { rillError } from '../../protocol/errors.js';
import type { ConfigEntry, DescribeConfigsRequest, DescribeConfigsResponse } from '../../protocol/apis/index.js';
import { DEFAULT_LOG_CONFIG, LOG_CONFIG_KEYS, logConfigToStrings } from '../../storage/log-config.js';
import { BROKER_CONFIG_KEYS, DEFAULT_BROKER_CONFIG, brokerConfigToStrings, type BrokerConfigKey } from '../config.js';
import type { BrokerContext, Handler } from '../context.js';
import { CLUSTER_TOPIC_CONFIG_KEYS, noSuchTopic } from '../topic-registry.js';
import { classifyError } from '../error-codes.js';

type Resource = DescribeConfigsRequest['resources'][number];

function wanted(names: string[] | null): (name: string) => boolean {
  if (names === null) return () => true;
  const set = new Set(names);
  return (name) => set.has(name);
}

function topicConfigs(ctx: BrokerContext, r: Resource): ConfigEntry[] {
  const info = ctx.topics.get(r.resourceName);
  const effective = ctx.topics.effectiveConfig(r.resourceName);
  if (info === undefined || effective === undefined) throw noSuchTopic(r.resourceName);
  const values = logConfigToStrings(effective);
  const brokerDefaults = logConfigToStrings(ctx.logDefaults);
  const kafkaDefaults = logConfigToStrings(DEFAULT_LOG_CONFIG);
  const include = wanted(r.configNames);
  const out: ConfigEntry[] = [];
  for (const { name } of LOG_CONFIG_KEYS) {
    if (!include(name)) continue;
    const overridden = Object.prototype.hasOwnProperty.call(info.configs, name);
    const source = overridden ? 'topic' : brokerDefaults[name] !== kafkaDefaults[name] ? 'broker' : 'default';
    out.push({ name, value: values[name] ?? null, isDefault: !overridden, readOnly: false, source });
  }
  // In a cluster the topic also has the replication configs (broker default unless overridden).
  if (ctx.cluster !== null) {
    for (const name of CLUSTER_TOPIC_CONFIG_KEYS) {
      if (!include(name)) continue;
      const overridden = Object.prototype.hasOwnProperty.call(info.configs, name);
      const brokerValue = String(ctx.config[name as BrokerConfigKey]);
      const source = overridden ? 'topic' : brokerValue !== String(DEFAULT_BROKER_CONFIG[name as BrokerConfigKey]) ? 'broker' : 'default';
      out.push({ name, value: overridden ? info.configs[name]! : brokerValue, isDefault: !overridden, readOnly: false, source });
    }
  }
  return out;
}

function brokerConfigs(ctx: BrokerContext, r: Resource): ConfigEntry[] {
  if (r.resourceName !== '' && r.resourceName !== String(ctx.nodeId)) {
    throw rillError('INVALID_REQUEST', `This is broker ${ctx.nodeId}, not '${r.resourceName}'`);
  }
  const values = brokerConfigToStrings(ctx.config);
  const defaults = brokerConfigToStrings(DEFAULT_BROKER_CONFIG);
  const include = wanted(r.configNames);
  const out: ConfigEntry[] = [];
  for (const name of Object.keys(BROKER_CONFIG_KEYS) as BrokerConfigKey[]) {
    if (!include(name)) continue;
    const isDefault = values[name] === defaults[name];
    out.push({ name, value: values[name], isDefault, readOnly: true, source: isDefault ? 'default' : 'broker' });
  }
  return out;
}

export const describeConfigsHandler: Handler<'DescribeConfigs'> = (ctx, req) => {
  const resources: DescribeConfigsResponse['resources'] = req.resources.map((r) => {
    try {
      const configs = r.resourceType === 'topic' ? topicConfigs(ctx, r) : brokerConfigs(ctx, r);
      return { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: 0, errorMessage: null, configs };
    } catch (err) {
      const e = classifyError(err);
      return { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: e.code, errorMessage: e.message, configs: [] };
    }
  });
  return { resources };
};
