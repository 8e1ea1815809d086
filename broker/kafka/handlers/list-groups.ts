/**
 * Kafka ListGroups (key 16) v0-4: every group (classic, KIP-848, or only committed offsets)
 * with its protocol type ('consumer' for KIP-848 groups, the classic group's own, '' for a
 * group that is only offsets) and, from v4, its state by Kafka's name; v4's statesFilter
 * matches those names case-insensitively, as Kafka does.
 */
import type { KafkaRequestBody, KafkaResponseInput, LIST_GROUPS } from '../../../protocol/kafka/index.js';
import { coordinatorOf } from '../../groups/index.js';
import type { KafkaHandler } from '../handler.js';
import { errorCodeOf, KAFKA_STATE_OF } from './group-support.js';

export const listGroupsHandler: KafkaHandler = (ctx, req, info) => {
  const body = req as KafkaRequestBody<typeof LIST_GROUPS>;
  const filter = info.apiVersion >= 4 && body.statesFilter.length > 0 ? new Set(body.statesFilter.map((s) => s.toLowerCase())) : null;
  try {
    const coordinator = coordinatorOf(ctx);
    const listed = coordinator.listGroups({ statesFilter: null });
    const groups = listed.groups
      .map((g) => {
        const classic = coordinator.classic.get(g.groupId);
        const live = (coordinator.group(g.groupId)?.members.size ?? 0) > 0;
        const protocolType = classic !== undefined ? (classic.protocolType ?? '') : live ? 'consumer' : '';
        return { groupId: g.groupId, protocolType, groupState: KAFKA_STATE_OF[g.groupState] };
      })
      .filter((g) => filter === null || filter.has(g.groupState.toLowerCase()));
    return { throttleTimeMs: 0, errorCode: listed.errorCode, groups } satisfies KafkaResponseInput<typeof LIST_GROUPS>;
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: errorCodeOf(ctx, err, 'ListGroups'), groups: [] } satisfies KafkaResponseInput<typeof LIST_GROUPS>;
  }
};
