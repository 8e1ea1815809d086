/**
 * InitProducerId (API key 22), versions 0-4 served; flexible versions (compact encodings, tagged fields) 2+.
 * Transcribed from Apache Kafka's InitProducerIdRequest.json / InitProducerIdResponse.json (whose validVersions
 * are 0-5); fields that exist only outside 0-4 are left out.
 *
 * Request:
 *   transactionalId: string   (null v0+)
 *   transactionTimeoutMs: int32
 *   producerId: int64   (v3+, default -1)
 *   producerEpoch: int16   (v3+, default -1)
 *
 * Response:
 *   throttleTimeMs: int32
 *   errorCode: int16
 *   producerId: int64   (default -1)
 *   producerEpoch: int16
 */
import type { ApiDecl } from '../schema.js';

export const INIT_PRODUCER_ID = {
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 4,
  flexibleVersions: '2+',
  request: [
    { name: 'transactionalId', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
} as const satisfies ApiDecl;
