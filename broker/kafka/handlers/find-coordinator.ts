/**
 * Kafka FindCoordinator (key 10) v0-4: the broker coordinating each group, named by its Kafka
 * listener (v0-3 one key, v4 a batch). Key type 0 (groups) only: rill has no transactions, so
 * key type 1 (transactional ids) and unknown types get INVALID_REQUEST for their keys.
 */
import type { FIND_COORDINATOR, KafkaRequestBody, KafkaResponseInput } from '../../../protocol/kafka/index.js';
import { ERRORS } from '../../../protocol/errors.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, kafkaAddressOf, readyCoordinator } from './group-support.js';

type Coordinator = { key: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null };

export const findCoordinatorHandler: KafkaHandler = async (ctx, req, info) => {
  const body = req as KafkaRequestBody<typeof FIND_COORDINATOR>;
  const keys = info.apiVersion >= 4 ? body.coordinatorKeys : [body.key];
  const failed = (key: string, errorCode: number, errorMessage: string): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  let answer: (key: string) => Coordinator;
  if (body.keyType !== 0) {
    const why = body.keyType === 1 ? 'rill has no transactions, so no transaction coordinator' : `unknown coordinator key type ${body.keyType}`;
    answer = (key) => failed(key, ERRORS.INVALID_REQUEST.code, why);
  } else {
    try {
      const coordinator = await readyCoordinator(ctx);
      answer = (key) => {
        let nodeId: number;
        try {
          // In a cluster: the leader of the group's __consumer_offsets partition, if it has one.
          nodeId = coordinator.coordinatorFor(key).nodeId;
        } catch (err) {
          return failed(key, errorCodeOf(ctx, err, 'FindCoordinator'), (err as Error).message);
        }
        const address = kafkaAddressOf(ctx, nodeId);
        if (address === null) return failed(key, ERRORS.COORDINATOR_NOT_AVAILABLE.code, `broker ${nodeId} coordinates group '${key}' but has no Kafka listener`);
        return { key, nodeId, ...address, errorCode: 0, errorMessage: null };
      };
    } catch (err) {
      const code = errorCodeOf(ctx, err, 'FindCoordinator');
      answer = (key) => failed(key, code, (err as Error).message);
    }
  }
  const coordinators = keys.map((key) => answer(key));
  if (info.apiVersion >= 4) return { throttleTimeMs: 0, coordinators } satisfies KafkaResponseInput<typeof FIND_COORDINATOR>;
  const { errorCode, errorMessage, nodeId, host, port } = coordinators[0]!;
  return { throttleTimeMs: 0, errorCode, errorMessage, nodeId, host, port } satisfies KafkaResponseInput<typeof FIND_COORDINATOR>;
};
