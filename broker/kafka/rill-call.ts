/**
 * Calls one of the rill listener's handlers (broker/handlers/) with a request translated from
 * Kafka's: the translation is checked against the rill API's request schema and defaulted
 * exactly as the rill dispatcher does, so both listeners accept and refuse the same things and
 * share every behaviour the rill handlers carry (auto-creation, validation of produced
 * batches, the fetch purgatory, and the cluster's leaders and epochs once that lands).
 *
 * A translation the schema refuses (an out-of-range field, an over-long list) is thrown as a
 * RillError with the schema's code; the Kafka dispatcher answers it on every entry of the
 * response (error-response.ts).
 */
import { APIS, applyRequestDefaults, checkRequest, type ApiDefinition, type ApiName, type DefaultedRequestOf, type RequestOf, type ResponseOf } from '../../protocol/apis/index.js';
import { RillError } from '../../protocol/errors.js';
import type { BrokerContext, ConnectionInfo, Handler } from '../context.js';
import { coreHandlers } from '../handlers/index.js';

type CoreName = keyof typeof coreHandlers & ApiName;

export async function callRill<N extends CoreName>(ctx: BrokerContext, name: N, req: RequestOf<N>, conn: ConnectionInfo): Promise<ResponseOf<N>> {
  const def: ApiDefinition = { name, ...APIS[name] };
  const invalid = checkRequest(def, req);
  if (invalid !== null) throw new RillError(invalid.errorCode, invalid.errorMessage);
  applyRequestDefaults(def, req);
  const handler = coreHandlers[name] as Handler<N> | undefined;
  if (handler === undefined) throw new TypeError(`rill has no ${name} handler`);
  return handler(ctx, req as DefaultedRequestOf<N>, conn);
}
