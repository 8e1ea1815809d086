import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { APIS, allApis, apiByKey, applyRequestDefaults } from '../../protocol/apis/index.js';

/** A payload shaped like each API's request, with every optional top-level field left out. */
function sample(): Record<string, unknown> {
  return { topics: [{ name: 't', partitions: [{ partition: 0, fetchOffset: 5, partitionMaxBytes: 1024 }] }], maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20 };
}

describe('applyRequestDefaults', () => {
  it('fills what TypeBox Value.Default fills, for every API, on an empty and on a Fetch-shaped payload', () => {
    for (const def of allApis()) {
      for (const make of [() => ({}), sample]) {
        const ours = make();
        const theirs = make();
        applyRequestDefaults(def, ours);
        Value.Default(def.request, theirs);
        expect(ours, def.name).toEqual(theirs);
      }
    }
  });

  it("sets Fetch's omitted replicaId and currentLeaderEpoch to -1 and leaves a given one and every other field alone", () => {
    const fetch = apiByKey(APIS.Fetch.key)!;
    const omitted = sample();
    applyRequestDefaults(fetch, omitted);
    const expected: Record<string, unknown> = { ...sample(), replicaId: -1 };
    (expected.topics as Array<{ partitions: Array<Record<string, unknown>> }>)[0]!.partitions[0]!.currentLeaderEpoch = -1;
    expect(omitted).toEqual(expected);
    const given: Record<string, unknown> = { ...sample(), replicaId: 3 };
    (given.topics as Array<{ partitions: Array<Record<string, unknown>> }>)[0]!.partitions[0]!.currentLeaderEpoch = 7;
    const before = structuredClone(given);
    applyRequestDefaults(fetch, given);
    expect(given).toEqual(before);
  });

  it('leaves payloads of the wrong shape as Value.Default does in place, without throwing', () => {
    for (const def of allApis()) {
      for (const make of [() => null, () => 7, () => 'x', () => undefined, () => ({ topics: 5 }), () => ({ topics: [null, 3, { partitions: 'no' }] })]) {
        const ours = make();
        const theirs = make();
        applyRequestDefaults(def, ours);
        Value.Default(def.request, theirs);
        expect(ours, def.name).toEqual(theirs);
      }
    }
  });
});
