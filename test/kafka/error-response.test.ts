/**
 * The error answer built from an API's declaration (broker/kafka/error-response.ts): it mirrors
 * the request's entries, carries the code on each, and encodes at every served version of every
 * declared API (the group APIs included, whose handlers rely on it when they throw).
 */
import { describe, expect, it } from 'vitest';
import { kafkaErrorResponse } from '../../broker/kafka/error-response.js';
import {
  DELETE_GROUPS, FETCH, JOIN_GROUP, KAFKA_APIS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, PRODUCE,
  decodeResponse, encodeResponse, type KafkaMessage,
} from '../../protocol/kafka/index.js';

const REQUESTS: Record<string, KafkaMessage> = {
  Produce: { topicData: [{ name: 't', partitionData: [{ index: 2, records: Buffer.alloc(3) }, { index: 5, records: null }] }] },
  Fetch: { topics: [{ topic: 't', partitions: [{ partition: 1, fetchOffset: 9 }] }] },
  Metadata: { topics: [{ name: 'a' }, { name: 'b' }] },
  OffsetCommit: { groupId: 'g', memberId: 'm', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }] },
  OffsetFetch: { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 3] }], groups: [{ groupId: 'g', topics: [{ name: 't', partitionIndexes: [3] }] }] },
  DeleteGroups: { groupsNames: ['g1', 'g2'] },
  JoinGroup: { groupId: 'g', memberId: 'm-1', protocolType: 'consumer', protocols: [] },
};

describe('Kafka error answers from declarations', () => {
  it('mirror topics and partitions, with the code on every partition and offsets -1', () => {
    expect(kafkaErrorResponse(PRODUCE, 9, REQUESTS.Produce!, 42, 'bad')).toMatchObject({
      responses: [{ name: 't', partitionResponses: [{ index: 2, errorCode: 42, baseOffset: -1, errorMessage: 'bad' }, { index: 5, errorCode: 42, baseOffset: -1 }] }],
    });
    expect(kafkaErrorResponse(FETCH, 12, REQUESTS.Fetch!, 6, 'x')).toMatchObject({ errorCode: 6, responses: [{ topic: 't', partitions: [{ partitionIndex: 1, errorCode: 6, highWatermark: -1 }] }] });
    // Metadata's first struct array is `brokers`, which holds no error code: `topics` mirrors.
    const md = kafkaErrorResponse(METADATA, 9, REQUESTS.Metadata!, 3, 'x');
    expect(md).toMatchObject({ topics: [{ name: 'a', errorCode: 3 }, { name: 'b', errorCode: 3 }] });
    expect(md).not.toHaveProperty('brokers');
  });

  it('mirrors the group APIs: partitions, bare partition numbers, bare group names, a top-level code', () => {
    expect(kafkaErrorResponse(OFFSET_COMMIT, 8, REQUESTS.OffsetCommit!, 16, 'x')).toMatchObject({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 16 }] }] });
    expect(kafkaErrorResponse(OFFSET_FETCH, 1, REQUESTS.OffsetFetch!, 16, 'x')).toMatchObject({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 16, committedOffset: -1 }, { partitionIndex: 3, errorCode: 16 }] }] });
    expect(kafkaErrorResponse(OFFSET_FETCH, 8, REQUESTS.OffsetFetch!, 16, 'x')).toMatchObject({ groups: [{ groupId: 'g', errorCode: 16, topics: [{ name: 't', partitions: [{ partitionIndex: 3, errorCode: 16 }] }] }] });
    expect(kafkaErrorResponse(DELETE_GROUPS, 2, REQUESTS.DeleteGroups!, 69, 'x')).toMatchObject({ results: [{ groupId: 'g1', errorCode: 69 }, { groupId: 'g2', errorCode: 69 }] });
    expect(kafkaErrorResponse(JOIN_GROUP, 7, REQUESTS.JoinGroup!, 15, 'x')).toMatchObject({ errorCode: 15, memberId: 'm-1' });
  });

  it('encodes and decodes at every served version of every declared API', () => {
    for (const api of KAFKA_APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const answer = kafkaErrorResponse(api, v, REQUESTS[api.name] ?? {}, 35, 'not served');
        if (answer === null) continue; // no error code at this version without entries to mirror
        const frame = Buffer.concat(encodeResponse(api.key, v, 9, answer)).subarray(4);
        expect(decodeResponse(api.key, v, frame).correlationId, `${api.name} v${v}`).toBe(9);
      }
    }
  });
});
