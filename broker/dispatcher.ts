/**
 * Routes one request body to its handler and always comes back with what to do: send a
 * response frame, send nothing (Produce with acks 0), or close the connection. Nothing a
 * client sends and nothing a handler throws escapes from here.
 *
 *   unknown apiKey, version out of range, or no handler  → { errorCode: UNSUPPORTED_VERSION, errorMessage }
 *   payload not msgpack / fails the schema               → the API's error response with
 *                                                          INVALID_REQUEST, or close when the
 *                                                          API has no top-level error field
 *   handler throws                                        → error response on every partition
 *   Produce acks 0                                        → no response; close if any partition
 *                                                          failed (as Kafka: the only way to tell)
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { apiByKey, validateRequest, type ApiDefinition, type ApiName, type RequestOf } from '../protocol/apis/index.js';
import { ERRORS } from '../protocol/errors.js';
import type { RequestHeader } from '../protocol/message-header.js';
import { decodeRequestPayload, encodeResponseFrame } from '../protocol/messages.js';
import type { BrokerContext, ConnectionInfo, Handler, HandlerTable } from './context.js';
import { classifyError } from './error-codes.js';
import { errorResponse } from './error-responses.js';

export type DispatchResult =
  | { kind: 'response'; frame: Buffer }
  | { kind: 'none' }
  | { kind: 'close'; reason: string };

const NONE: DispatchResult = { kind: 'none' };

export class Dispatcher {
  /** The latency histogram's child per API, looked up once instead of per request. */
  private readonly latency = new Map<ApiName, Histogram.Internal<'api'>>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly handlers: HandlerTable,
  ) {}

  async dispatch(header: RequestHeader, body: Buffer, conn: ConnectionInfo): Promise<DispatchResult> {
    const { ctx } = this;
    const def = apiByKey(header.apiKey);
    const handler = def === undefined ? undefined : (this.handlers[def.name] as Handler<ApiName> | undefined);
    if (def === undefined || handler === undefined || header.apiVersion < def.minVersion || header.apiVersion > def.maxVersion) {
      const what = def === undefined ? `unknown apiKey ${header.apiKey}` : handler === undefined ? `${def.name} is not served by this broker` : `${def.name} v${header.apiVersion} is not supported (v${def.minVersion}..v${def.maxVersion})`;
      ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, apiKey: header.apiKey, apiVersion: header.apiVersion }, `UNSUPPORTED_VERSION: ${what}`);
      ctx.metrics.requestErrors.inc({ api: def?.name ?? String(header.apiKey), error: 'UNSUPPORTED_VERSION' });
      return respond(header.correlationId, { errorCode: ERRORS.UNSUPPORTED_VERSION.code, errorMessage: what });
    }

    let payload: unknown;
    let invalid: string | null;
    try {
      payload = decodeRequestPayload(body);
      invalid = validateRequest(def, payload);
    } catch (err) {
      invalid = (err as Error).message;
    }
    if (invalid !== null) return this.invalidRequest(def, header, conn, invalid);

    const started = performance.now();
    let response: unknown;
    try {
      response = await handler(ctx, payload as RequestOf<ApiName>, conn);
    } catch (err) {
      const e = classifyError(err);
      if (e.level !== null) ctx.logger[e.level]({ err, conn: conn.id, clientId: conn.clientId, api: def.name }, `${def.name} handler failed`);
      else ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: def.name, code: e.code }, `${def.name} refused: ${e.message}`);
      response = errorResponse(def.name, payload as RequestOf<ApiName>, e.code, e.message, this.responseContext());
      ctx.metrics.requestErrors.inc({ api: def.name, error: String(e.code) });
    }
    const seconds = (performance.now() - started) / 1000;
    let latency = this.latency.get(def.name);
    if (latency === undefined) {
      latency = ctx.metrics.requestDuration.labels({ api: def.name });
      this.latency.set(def.name, latency);
    }
    latency.observe(seconds);
    if (ctx.logger.isLevelEnabled('debug')) {
      ctx.logger.debug({ conn: conn.id, clientId: conn.clientId, api: def.name, correlationId: header.correlationId, ms: seconds * 1000 }, 'request');
    }

    if (def.name === 'Produce' && (payload as RequestOf<'Produce'>).acks === 0) {
      const failed = firstProduceError(response as ProduceLike | null);
      return failed === null ? NONE : { kind: 'close', reason: `acks=0 produce failed (${failed}); closing the connection is the only way to tell the producer` };
    }
    return respond(header.correlationId, response);
  }

  private invalidRequest(def: ApiDefinition, header: RequestHeader, conn: ConnectionInfo, reason: string): DispatchResult {
    this.ctx.metrics.requestErrors.inc({ api: def.name, error: 'INVALID_REQUEST' });
    const message = `invalid ${def.name} request: ${reason}`;
    const response = errorResponse(def.name, null, ERRORS.INVALID_REQUEST.code, message, this.responseContext());
    if (response === null) return { kind: 'close', reason: `${message} (${def.name} has no top-level error field to report it)` };
    this.ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: def.name, correlationId: header.correlationId }, message);
    return respond(header.correlationId, response);
  }

  private responseContext() {
    const { ctx } = this;
    return { nodeId: ctx.nodeId, clusterId: ctx.clusterId, advertisedHost: ctx.advertisedHost, advertisedPort: ctx.advertisedPort };
  }
}

function respond(correlationId: number, payload: unknown): DispatchResult {
  return { kind: 'response', frame: encodeResponseFrame(correlationId, payload) };
}

interface ProduceLike {
  topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

function firstProduceError(response: ProduceLike | null): string | null {
  if (response === null) return 'unanswerable request';
  for (const t of response.topics) {
    for (const p of t.partitions) if (p.errorCode !== 0) return `${t.name}-${p.partition}: error ${p.errorCode}`;
  }
  return null;
}
