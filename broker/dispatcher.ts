/**
 * Routes one request body to its handler and always comes back with what to do: send a
 * response frame, send nothing (Produce with acks 0), or close the connection. Nothing a
 * client sends and nothing a handler throws escapes from here.
 *
 *   unknown apiKey, version out of range, or no handler  → { errorCode: UNSUPPORTED_VERSION, errorMessage }
 *   payload not msgpack / fails the schema               → { errorCode: INVALID_REQUEST (or the
 *                                                          field's own code), errorMessage naming
 *                                                          the field }, the same on every API
 *                                                          (protocol/apis/request-error.ts)
 *   handler throws                                        → error response on every partition
 *   Produce acks 0                                        → no response; close if any partition
 *                                                          failed or the request was unreadable
 *                                                          (as Kafka: the only way to tell)
 *
 * A valid request has its omitted fields filled from the schema's defaults here, the one
 * place they are applied. The connection itself is closed only by broker/connection.ts, for a
 * frame it cannot trust (over the size limit, shorter than the header).
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { apiByKey, applyRequestDefaults, checkRequest, type ApiDefinition, type ApiName, type DefaultedRequestOf, type RequestErrorResponse } from '../protocol/apis/index.js';
import { ERRORS, errorEntry } from '../protocol/errors.js';
import type { RequestHeader } from '../protocol/message-header.js';
import { decodeRequestPayload, encodeResponseFrame, encodeResponseFrameChunks } from '../protocol/messages.js';
import { encodeFetchResponseChunks } from '../protocol/apis/fetch-codec.js';
import type { FetchResponse } from '../protocol/apis/fetch.js';
import type { BrokerContext, ConnectionInfo, Handler, HandlerTable } from './context.js';
import { classifyError } from './error-codes.js';
import { errorResponse } from './error-responses.js';

export type DispatchResult =
  /** One buffer, or a chunk list (a Fetch response: envelope and record batches, uncopied). */
  | { kind: 'response'; frame: Buffer | Buffer[] }
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
    let invalid: RequestErrorResponse | null;
    try {
      payload = decodeRequestPayload(body);
      invalid = checkRequest(def, payload);
    } catch (err) {
      payload = undefined;
      invalid = { errorCode: ERRORS.INVALID_REQUEST.code, errorMessage: `request: ${(err as Error).message}` };
    }
    if (invalid !== null) return this.invalidRequest(def, header, conn, payload, invalid);
    applyRequestDefaults(def, payload);

    const started = performance.now();
    let response: unknown;
    // A Fetch handler's answer goes out as chunks; an error answer has another shape.
    let chunkedFetch = def.name === 'Fetch';
    try {
      response = await handler(ctx, payload as DefaultedRequestOf<ApiName>, conn);
    } catch (err) {
      chunkedFetch = false;
      const e = classifyError(err);
      if (e.level !== null) ctx.logger[e.level]({ err, conn: conn.id, clientId: conn.clientId, api: def.name }, `${def.name} handler failed`);
      else ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: def.name, code: e.code }, `${def.name} refused: ${e.message}`);
      response = errorResponse(def.name, payload as DefaultedRequestOf<ApiName>, e.code, e.message, this.responseContext());
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

    if (def.name === 'Produce' && (payload as DefaultedRequestOf<'Produce'>).acks === 0) {
      const failed = firstProduceError(response as ProduceLike | null);
      return failed === null ? NONE : { kind: 'close', reason: `acks=0 produce failed (${failed}); closing the connection is the only way to tell the producer` };
    }
    if (chunkedFetch) return { kind: 'response', frame: encodeResponseFrameChunks(header.correlationId, encodeFetchResponseChunks(response as FetchResponse)) };
    return respond(header.correlationId, response);
  }

  private invalidRequest(def: ApiDefinition, header: RequestHeader, conn: ConnectionInfo, payload: unknown, answer: RequestErrorResponse): DispatchResult {
    const { ctx } = this;
    ctx.metrics.requestErrors.inc({ api: def.name, error: errorEntry(answer.errorCode).name });
    ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: def.name, correlationId: header.correlationId, code: answer.errorCode }, `invalid ${def.name} request: ${answer.errorMessage}`);
    // A fire-and-forget producer reads no answer: closing is the only thing it notices.
    if (def.name === 'Produce' && (payload as { acks?: unknown } | null)?.acks === 0) {
      return { kind: 'close', reason: `acks=0 produce request is invalid (${answer.errorMessage}); closing the connection is the only way to tell the producer` };
    }
    return respond(header.correlationId, answer);
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
