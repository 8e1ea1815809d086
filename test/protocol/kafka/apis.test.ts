import { describe, expect, it } from 'vitest';
import { apiVersionsTable, isFlexibleVersion, isSupportedVersion, KAFKA_APIS, KafkaApiKey, kafkaApi, messagePlan } from '../../../protocol/kafka/apis.js';
import { inVersions, type FieldDecl } from '../../../protocol/kafka/schema.js';

const NULLABLE_TYPES = /^(\[\]|string$|bytes$|records$)/;

/** Checks the rules Kafka's message generator enforces on a spec, for one struct. */
function checkStruct(fields: readonly FieldDecl[], where: string): void {
  const names = new Set<string>();
  const tags = new Set<number>();
  for (const f of fields) {
    expect(names.has(f.name), `${where}.${f.name} declared twice`).toBe(false);
    names.add(f.name);
    expect(f.name).toMatch(/^[a-z][A-Za-z0-9]*$/);
    if (f.nullableVersions !== undefined) expect(f.type, `${where}.${f.name} nullable`).toMatch(NULLABLE_TYPES);
    if (f.taggedVersions !== undefined) {
      expect(typeof f.tag, `${where}.${f.name} tag`).toBe('number');
      expect(tags.has(f.tag!), `${where} tag ${f.tag} twice`).toBe(false);
      tags.add(f.tag!);
    }
    const isStruct = f.type === 'struct' || f.type === '[]struct';
    expect(f.fields !== undefined, `${where}.${f.name} fields`).toBe(isStruct);
    if (f.fields !== undefined) checkStruct(f.fields, `${where}.${f.name}`);
  }
}

describe('Kafka API registry', () => {
  it('keys are unique, ascending, and match Kafka\'s numbering', () => {
    expect(KAFKA_APIS.map((a) => a.key)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 32, 37, 42]);
    expect(KafkaApiKey).toMatchObject({ Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, OffsetCommit: 8, OffsetFetch: 9, FindCoordinator: 10, JoinGroup: 11, Heartbeat: 12, LeaveGroup: 13, SyncGroup: 14, DescribeGroups: 15, ListGroups: 16, ApiVersions: 18, CreateTopics: 19, DeleteTopics: 20, InitProducerId: 22, DescribeConfigs: 32, CreatePartitions: 37, DeleteGroups: 42 });
    for (const api of KAFKA_APIS) expect(kafkaApi(api.key)).toBe(api);
    expect(kafkaApi(99)).toBeUndefined();
  });

  it('every declaration follows the spec rules', () => {
    for (const api of KAFKA_APIS) {
      checkStruct(api.request, `${api.name}Request`);
      checkStruct(api.response, `${api.name}Response`);
    }
  });

  it('plans exist for exactly the served versions', () => {
    for (const api of KAFKA_APIS) {
      expect(messagePlan(api.key, api.minVersion - 1, 'request')).toBeUndefined();
      expect(messagePlan(api.key, api.maxVersion + 1, 'response')).toBeUndefined();
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        expect(isSupportedVersion(api.key, v)).toBe(true);
        const plan = messagePlan(api.key, v, 'request')!;
        expect(plan.version).toBe(v);
        expect(plan.flexible).toBe(inVersions(api.flexibleVersions, v));
      }
    }
    expect(isSupportedVersion(0, 2)).toBe(false);
  });

  it('flexible versions decide header versions, for served and unserved versions alike', () => {
    expect(isFlexibleVersion(KafkaApiKey.Produce, 8)).toBe(false);
    expect(isFlexibleVersion(KafkaApiKey.Produce, 9)).toBe(true);
    expect(isFlexibleVersion(KafkaApiKey.Produce, 11)).toBe(true);
    expect(isFlexibleVersion(KafkaApiKey.ApiVersions, 3)).toBe(true);
    expect(isFlexibleVersion(99, 5)).toBe(false);
  });

  it('the ApiVersions table is computed from the declarations', () => {
    const table = apiVersionsTable();
    expect(table).toHaveLength(KAFKA_APIS.length);
    expect(table).toContainEqual({ apiKey: 18, minVersion: 0, maxVersion: 3 });
    expect(table).toContainEqual({ apiKey: 0, minVersion: 3, maxVersion: 9 });
    expect(table).toContainEqual({ apiKey: 1, minVersion: 4, maxVersion: 12 });
  });
});
