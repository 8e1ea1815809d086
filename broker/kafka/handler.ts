/**
 * The Kafka listener's handler shape (broker/kafka/): one module per Kafka API under
 * broker/kafka/handlers/, registered by API key. A handler gets the decoded request body (a
 * KafkaMessage whose fields are the API's declaration for `version`, defaults filled for
 * fields the version lacks) and returns the response body for the same version; the listener
 * encodes it and writes the right response header. What a handler throws is answered with the
 * thrown RillError's code (UNKNOWN_SERVER_ERROR otherwise) wherever the response has error
 * codes, as the rill listener does.
 *
 * Handlers work on the broker's shared state through `BrokerContext` (the same topics, logs,
 * groups and cluster as the rill listener), so a record produced through one listener is read
 * through the other.
 */
import type { KafkaMessage } from '../../protocol/kafka/index.js';
import type { BrokerContext, ConnectionInfo } from '../context.js';

export interface KafkaRequestInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** The request header's client id (null when the client sent none). */
  clientId: string | null;
}

export type KafkaHandler = (ctx: BrokerContext, req: KafkaMessage, info: KafkaRequestInfo, conn: ConnectionInfo) => KafkaMessage | Promise<KafkaMessage>;

/** API key → handler. */
export type KafkaHandlerTable = ReadonlyMap<number, KafkaHandler>;
