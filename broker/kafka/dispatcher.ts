/**
 * The Kafka listener's dispatcher: one request frame body in, what to do about it out (a
 * response frame, nothing, or closing the connection). broker/connection.ts does the framing,
 * ordering and flow control for both listeners; this replaces only the rill dispatcher.
 *
 * What each kind of request gets (Apache Kafka 3.x's behaviour, answered wherever an answer
 * can be encoded):
 *
 *   header unreadable (shorter than apiKey..clientId)  → connection closed (no trustworthy header)
 *   unknown API key                                     → connection closed (no response format
 *                                                         exists; Kafka closes too)
 *   ApiVersions at a version not served (e.g. v4)       → ApiVersions v0 response, header v0,
 *                                                         UNSUPPORTED_VERSION + the served ranges
 *                                                         (KIP-511); the client retries in range
 *   another API at a version not served                 → connection closed: there is no version
 *                                                         both sides can encode (Kafka closes
 *                                                         too); clients never send it, since
 *                                                         they pick versions from ApiVersions
 *   body does not decode at that version                → INVALID_REQUEST in the response's
 *                                                         top-level error code where it has one
 *                                                         (ApiVersions, Fetch v7+, the group
 *                                                         APIs, ...); otherwise the connection
 *                                                         is closed, as Kafka closes on a request
 *                                                         it cannot parse (no entries to put an
 *                                                         error on: Produce, Metadata, ...)
 *   declared API with no handler (groups not wired)     → that API's response with
 *                                                         UNSUPPORTED_VERSION on every entry;
 *                                                         it is also left out of ApiVersions
 *   handler throws                                      → the thrown RillError's code
 *                                                         (UNKNOWN_SERVER_ERROR otherwise) on
 *                                                         every entry (error-response.ts)
 *   Produce acks=0                                      → no response; the connection is closed
 *                                                         if any partition failed (as Kafka: the
 *                                                         only signal such a producer gets)
 *
 * Every close is logged at warn with the reason and counted in rill_request_errors_total
 * (api label `kafka.<Api>` or `kafka.<key>`).
 */
import { performance } from 'node:perf_hooks';
import { ERRORS } from '../../protocol/errors.js';
import {
  decodeRequest,
  decodeRequestHeader,
  encodeResponse,
  isSupportedVersion,
  kafkaApi,
  KafkaApiKey,
  unsupportedVersionResponse,
  type KafkaMessage,
  type KafkaRequestHeader,
} from '../../protocol/kafka/index.js';
import type { RequestHeader } from '../../protocol/message-header.js';
import type { BrokerContext, ConnectionInfo } from '../context.js';
import type { DispatchResult } from '../dispatcher.js';
import { classifyError } from '../error-codes.js';
import { kafkaErrorResponse } from './error-response.js';
import type { KafkaHandlerTable } from './handler.js';

const NONE: DispatchResult = { kind: 'none' };

export class KafkaDispatcher {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly handlers: KafkaHandlerTable,
  ) {}

  /** `_rillHeader` is the connection's read of the first 8 bytes; the Kafka header is re-read here. */
  async dispatch(_rillHeader: RequestHeader, body: Buffer, conn: ConnectionInfo): Promise<DispatchResult> {
    let header: KafkaRequestHeader;
    try {
      header = decodeRequestHeader(body);
    } catch (err) {
      return this.close('kafka.header', `undecodable Kafka request header: ${(err as Error).message}`);
    }
    if (header.clientId !== null) conn.clientId = header.clientId;
    const api = kafkaApi(header.apiKey);
    const label = `kafka.${api?.name ?? header.apiKey}`;
    if (api === undefined) return this.close(label, `unknown Kafka API key ${header.apiKey} (v${header.apiVersion})`);
    if (!isSupportedVersion(header.apiKey, header.apiVersion)) {
      const answer = unsupportedVersionResponse(header);
      const what = `${api.name} v${header.apiVersion} is not supported (v${api.minVersion}..v${api.maxVersion})`;
      this.refused(conn, label, 'UNSUPPORTED_VERSION', what, answer === null);
      if (answer !== null) return { kind: 'response', frame: answer };
      return this.close(label, `${what}: no response version both sides know`);
    }

    let req: KafkaMessage;
    try {
      req = decodeRequest(body).body;
    } catch (err) {
      const what = `${api.name} v${header.apiVersion} request does not decode: ${(err as Error).message}`;
      const answer = kafkaErrorResponse(api, header.apiVersion, {}, ERRORS.INVALID_REQUEST.code, what);
      this.refused(conn, label, 'INVALID_REQUEST', what, answer === null);
      return answer === null ? this.close(label, what) : this.respond(header, label, answer);
    }
    const handler = this.handlers.get(header.apiKey);
    const started = performance.now();
    let response: KafkaMessage | null;
    if (handler === undefined) {
      const what = `${api.name} is not served by this broker`;
      this.refused(conn, label, 'UNSUPPORTED_VERSION', what, false);
      response = kafkaErrorResponse(api, header.apiVersion, req, ERRORS.UNSUPPORTED_VERSION.code, what);
    } else {
      try {
        response = await handler(this.ctx, req, { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId }, conn);
      } catch (err) {
        const e = classifyError(err);
        if (e.level !== null) this.ctx.logger[e.level]({ err, conn: conn.id, clientId: conn.clientId, api: label }, `${label} handler failed`);
        else this.ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: label, code: e.code }, `${label} refused: ${e.message}`);
        this.ctx.metrics.requestErrors.inc({ api: label, error: String(e.code) });
        response = kafkaErrorResponse(api, header.apiVersion, req, e.code, e.message);
      }
    }
    this.ctx.metrics.requestDuration.labels({ api: label }).observe((performance.now() - started) / 1000);
    if (response === null) return this.close(label, `${api.name} failed and its response has no error code to say so`);

    if (header.apiKey === KafkaApiKey.Produce && req.acks === 0) {
      const failed = firstProduceError(response);
      return failed === null ? NONE : this.close(label, `acks=0 produce failed (${failed}); closing the connection is the only way to tell the producer`);
    }
    return this.respond(header, label, response);
  }

  private respond(header: KafkaRequestHeader, label: string, response: KafkaMessage): DispatchResult {
    try {
      return { kind: 'response', frame: encodeResponse(header.apiKey, header.apiVersion, header.correlationId, response) };
    } catch (err) {
      // A handler produced a value the version cannot carry: a bug, never the client's doing.
      this.ctx.logger.error({ err, api: label }, `${label} response does not encode`);
      return this.close(label, `${label} v${header.apiVersion} response does not encode: ${(err as Error).message}`);
    }
  }

  private refused(conn: ConnectionInfo, label: string, error: string, what: string, closing: boolean): void {
    this.ctx.logger.warn({ conn: conn.id, clientId: conn.clientId, api: label }, `${error}: ${what}${closing ? '; closing the connection' : ''}`);
    this.ctx.metrics.requestErrors.inc({ api: label, error });
  }

  private close(label: string, reason: string): DispatchResult {
    this.ctx.metrics.requestErrors.inc({ api: label, error: 'CONNECTION_CLOSED' });
    return { kind: 'close', reason };
  }
}

function firstProduceError(response: KafkaMessage): string | null {
  for (const t of (response.responses ?? []) as Array<{ name: string; partitionResponses: Array<{ index: number; errorCode: number }> }>) {
    for (const p of t.partitionResponses) if (p.errorCode !== 0) return `${t.name}-${p.index}: error ${p.errorCode}`;
  }
  return null;
}
