/**
 * ApiVersions: the APIs this Kafka listener serves with their version ranges, computed from
 * the declarations (protocol/kafka/apis.ts) and limited to the APIs that have a handler, so a
 * client never picks an API that would only answer UNSUPPORTED_VERSION. Minimum versions are
 * the declared ones: 0 wherever Kafka 3.x advertised 0, except Produce (3) and Fetch (4),
 * whose older versions carry message formats v0/v1 that rill does not store.
 *
 * A version out of range never reaches this handler: the dispatcher answers it with the v0
 * error response (KIP-511).
 */
import { apiVersionsTable } from '../../../protocol/kafka/index.js';
import type { KafkaHandler } from '../handler.js';

export function apiVersionsHandler(served: () => ReadonlySet<number>): KafkaHandler {
  return () => {
    const keys = served();
    return { errorCode: 0, apiKeys: apiVersionsTable().filter((a) => keys.has(a.apiKey)), throttleTimeMs: 0 };
  };
}
