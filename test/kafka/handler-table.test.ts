/**
 * buildKafkaHandlerTable(extra): the seam the group handlers (broker/kafka/handlers/groups.ts)
 * plug into. Extra handlers are served and listed by ApiVersions; a key registered twice or one
 * protocol/kafka does not declare is refused at start.
 */
import { describe, expect, it } from 'vitest';
import type { KafkaHandler } from '../../broker/kafka/handler.js';
import { buildKafkaHandlerTable, coreKafkaHandlers } from '../../broker/kafka/handlers/index.js';
import type { BrokerContext, ConnectionInfo } from '../../broker/context.js';
import { KafkaApiKey, type KafkaMessage } from '../../protocol/kafka/index.js';

const heartbeat: KafkaHandler = () => ({ throttleTimeMs: 0, errorCode: 0 });

/** ApiVersions' answer from a table (its handler reads neither the context nor the connection). */
async function listed(table: ReturnType<typeof buildKafkaHandlerTable>): Promise<number[]> {
  const handler = table.get(KafkaApiKey.ApiVersions)!;
  const info = { apiKey: KafkaApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: null };
  const answer = (await handler(null as unknown as BrokerContext, {}, info, null as unknown as ConnectionInfo)) as KafkaMessage;
  return (answer.apiKeys as Array<{ apiKey: number }>).map((k) => k.apiKey);
}

describe('buildKafkaHandlerTable', () => {
  it('serves the core APIs and ApiVersions, and lists exactly them', async () => {
    const table = buildKafkaHandlerTable();
    expect([...table.keys()].sort((a, b) => a - b)).toEqual([...coreKafkaHandlers.keys(), KafkaApiKey.ApiVersions].sort((a, b) => a - b));
    expect(await listed(table)).toEqual([0, 1, 2, 3, 18, 19, 20, 22, 32]);
  });

  it('adds extra handlers (the group APIs) and lists them', async () => {
    const table = buildKafkaHandlerTable(new Map([[KafkaApiKey.Heartbeat, heartbeat]]));
    expect(table.get(KafkaApiKey.Heartbeat)).toBe(heartbeat);
    expect(await listed(table)).toContain(KafkaApiKey.Heartbeat);
  });

  it('refuses a key registered twice and a key protocol/kafka does not declare', () => {
    expect(() => buildKafkaHandlerTable(new Map([[KafkaApiKey.Produce, heartbeat]]))).toThrow(/registered twice/);
    expect(() => buildKafkaHandlerTable(new Map([[KafkaApiKey.ApiVersions, heartbeat]]))).toThrow(/registered twice/);
    expect(() => buildKafkaHandlerTable(new Map([[57, heartbeat]]))).toThrow(/no declaration/);
  });
});
