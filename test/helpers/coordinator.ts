/** The node id FindCoordinator names for a group, asked of the broker on `port` (rill protocol). */
import { RawClient } from './raw-client.js';

export async function coordinatorOf(port: number, groupId: string): Promise<number> {
  const raw = await RawClient.connect(port);
  try {
    const r = await raw.request('FindCoordinator', { keyType: 0, keys: [groupId] });
    const c = r.coordinators[0]!;
    if (c.errorCode !== 0) throw new Error(`FindCoordinator ${groupId}: error ${c.errorCode}`);
    return c.nodeId;
  } finally {
    await raw.close();
  }
}
