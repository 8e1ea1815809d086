/**
 * Consumer-group metrics on the broker's prom-client registry, computed at scrape time from
 * the coordinator's state (nothing is updated on the commit path):
 *
 *   rill_consumer_group_lag{group,topic,partition}               log end offset - committed offset (>= 0)
 *   rill_consumer_group_committed_offset{group,topic,partition}  the committed offset
 *   rill_consumer_group_members{group}                           live members
 *
 * Partitions whose topic no longer exists are left out of the lag gauge (their lag is
 * unknown) but keep their committed offset until the group's offsets are deleted.
 */
import { Gauge, type Registry } from 'prom-client';
import type { GroupCoordinator } from './coordinator.js';

export function registerGroupMetrics(registry: Registry, coordinator: GroupCoordinator): void {
  const registers = [registry];
  const labelNames = ['group', 'topic', 'partition'] as const;
  // prom-client collects metrics in registration order: the lag gauge, registered first,
  // fills all three from one pass over the groups (the others are declared below it, and its
  // collect() runs only at scrape time).
  const lag: Gauge<'group' | 'topic' | 'partition'> = new Gauge({
    name: 'rill_consumer_group_lag',
    help: 'Records between a consumer group\'s committed offset and the log end offset, per partition',
    labelNames,
    registers,
    collect() {
      lag.reset();
      committed.reset();
      members.reset();
      for (const groupId of coordinator.groupIds()) {
        members.set({ group: groupId }, (coordinator.group(groupId)?.members.size ?? 0) + (coordinator.classic.get(groupId)?.members.size ?? 0));
        for (const l of coordinator.lagOf(groupId)) {
          const labels = { group: groupId, topic: l.topic, partition: String(l.partition) };
          committed.set(labels, l.committedOffset);
          if (l.lag >= 0) lag.set(labels, l.lag);
        }
      }
    },
  });
  const committed = new Gauge({ name: 'rill_consumer_group_committed_offset', help: 'Committed offset of a consumer group, per partition', labelNames, registers });
  const members = new Gauge({ name: 'rill_consumer_group_members', help: 'Live members of a consumer group', labelNames: ['group'], registers });
}
