/**
 * DescribeConfigs: topic (resource type 2) and broker (4) resources, translated to the rill
 * DescribeConfigs handler; any other resource type (broker loggers, ...) is answered
 * INVALID_REQUEST for that resource. Sources map to Kafka's: a topic override is
 * DYNAMIC_TOPIC_CONFIG (1), a value from the broker's config STATIC_BROKER_CONFIG (4), else
 * DEFAULT_CONFIG (5). No synonyms, no documentation, config types UNKNOWN (0): all optional
 * in Kafka's answer.
 */
import { ERRORS } from '../../../protocol/errors.js';
import { isSensitiveBrokerKey } from '../../config.js';
import type { DESCRIBE_CONFIGS, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';
import { callRill } from '../rill-call.js';

type Req = KafkaRequestBody<typeof DESCRIBE_CONFIGS>;
type Res = KafkaResponseInput<typeof DESCRIBE_CONFIGS>;
type ResultOut = NonNullable<Res['results']>[number];

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE = { topic: 1, broker: 4, default: 5 } as const;

export const describeConfigsHandler: KafkaHandler = async (ctx, body, _info, conn) => {
  const req = body as Req;
  const known = req.resources.filter((r) => r.resourceType === RESOURCE_TOPIC || r.resourceType === RESOURCE_BROKER);
  const rill =
    known.length === 0
      ? { resources: [] }
      : await callRill(
          ctx,
          'DescribeConfigs',
          { resources: known.map((r) => ({ resourceType: r.resourceType === RESOURCE_TOPIC ? ('topic' as const) : ('broker' as const), resourceName: r.resourceName, configNames: r.configurationKeys })) },
          conn,
        );
  let next = 0;
  const results = req.resources.map((r): ResultOut => {
    if (r.resourceType !== RESOURCE_TOPIC && r.resourceType !== RESOURCE_BROKER) {
      return { errorCode: ERRORS.INVALID_REQUEST.code, errorMessage: `Resource type ${r.resourceType} is not supported (topics: 2, brokers: 4)`, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
    }
    const d = rill.resources[next++]!;
    return {
      errorCode: d.errorCode,
      errorMessage: d.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: d.configs.map((c) => {
        // A secret (ssl.key.password) is answered as Kafka does: value null, isSensitive true.
        const sensitive = r.resourceType === RESOURCE_BROKER && isSensitiveBrokerKey(c.name);
        return { name: c.name, value: sensitive ? null : c.value, readOnly: c.readOnly, isDefault: c.isDefault, configSource: SOURCE[c.source], isSensitive: sensitive, synonyms: [], configType: 0, documentation: null };
      }),
    };
  });
  const res: Res = { throttleTimeMs: 0, results };
  return res;
};
