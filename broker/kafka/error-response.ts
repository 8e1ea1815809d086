/**
 * An error answer for any declared Kafka API, built from its declaration and the request: what
 * the listener sends when a handler throws, when a validated translation is refused, or when a
 * declared API has no handler (UNSUPPORTED_VERSION). Kafka's responses mirror their requests
 * (topics → partitions, resources → results, groups → groups), so one walk serves every API
 * instead of an error builder per API:
 *
 *   - `errorCode` / `errorMessage` at any level get the code and message;
 *   - the response's first struct array that holds an error code (Metadata's `topics`, not its
 *     `brokers`) mirrors the request's first array (of structs, or of
 *     strings such as DeleteTopics v0-5's `topicNames` and the group ids of DeleteGroups), one
 *     item per request item, and nested arrays mirror the same way (partitions in topics;
 *     a request's bare partition numbers, as OffsetFetch's `partitionIndexes`, too);
 *   - identifying fields are copied from the request item: a response field of the same name
 *     (`name`, `topic`, `resourceType`, `resourceName`, `groupId`, `partitionIndex`, ...), and
 *     the partition number across Kafka's three spellings (`index`, `partition`,
 *     `partitionIndex`);
 *   - everything else stays at its declared default, and an int64 without one (an offset, a
 *     high watermark, a producer id) is -1, Kafka's "none" in error answers.
 *
 * Returns null when the response has no error code anywhere the request can be mirrored
 * (then there is no honest answer and the listener closes the connection, as Kafka does).
 */
import { defaultOf, inVersions, type FieldDecl, type KafkaMessage } from '../../protocol/kafka/index.js';

const PARTITION_NAMES = ['partitionIndex', 'partition', 'index'];

interface Built {
  msg: KafkaMessage;
  /** Whether an errorCode field was set somewhere. */
  coded: boolean;
}

function present(fields: readonly FieldDecl[], version: number): FieldDecl[] {
  return fields.filter((f) => inVersions(f.versions, version));
}

function holdsErrorCode(fields: readonly FieldDecl[], version: number): boolean {
  return present(fields, version).some((f) => (f.name === 'errorCode' && f.type === 'int16') || (f.type === '[]struct' && holdsErrorCode(f.fields ?? [], version)));
}

function firstArray(fields: readonly FieldDecl[], version: number, msg: KafkaMessage | string | number): { decl: FieldDecl; items: unknown[] } | null {
  if (typeof msg !== 'object') return null;
  for (const f of present(fields, version)) {
    if (!f.type.startsWith('[]')) continue;
    if (f.type !== '[]struct' && f.type !== '[]string' && f.type !== '[]int32') continue;
    const items = msg[f.name];
    if (Array.isArray(items)) return { decl: f, items };
  }
  return null;
}

/** The JS type a primitive field's value has (null aside). */
function jsTypeOf(decl: FieldDecl): string {
  if (decl.type === 'bool') return 'boolean';
  if (decl.type === 'string' || decl.type === 'uuid') return 'string';
  return decl.type.startsWith('int') || decl.type.startsWith('uint') || decl.type === 'float64' ? 'number' : 'other';
}

function identify(out: KafkaMessage, decl: FieldDecl, source: KafkaMessage | string | number): void {
  if (typeof source === 'string') {
    // A request array of bare names (topic names, group ids): the response's name field.
    if (decl.type === 'string' && (decl.name === 'name' || decl.name === 'groupId' || decl.name === 'topic')) out[decl.name] = source;
    return;
  }
  if (typeof source === 'number') {
    // A request array of bare partition numbers.
    if (PARTITION_NAMES.includes(decl.name) && decl.type === 'int32') out[decl.name] = source;
    return;
  }
  if (decl.name in source && typeof source[decl.name] === jsTypeOf(decl)) {
    out[decl.name] = source[decl.name];
    return;
  }
  if (PARTITION_NAMES.includes(decl.name)) {
    for (const alias of PARTITION_NAMES) {
      if (typeof source[alias] === 'number') {
        out[decl.name] = source[alias];
        return;
      }
    }
  }
}

function build(
  respFields: readonly FieldDecl[],
  reqFields: readonly FieldDecl[],
  source: KafkaMessage | string | number,
  version: number,
  code: number,
  message: string,
): Built {
  const msg: KafkaMessage = {};
  let coded = false;
  const mirrored = firstArray(reqFields, version, source);
  let arrayUsed = false;
  for (const f of present(respFields, version)) {
    if (f.name === 'errorCode' && f.type === 'int16') {
      msg[f.name] = code;
      coded = true;
    } else if (f.name === 'errorMessage' && f.type === 'string') {
      msg[f.name] = message;
    } else if (f.type === '[]struct' && !arrayUsed && mirrored !== null && holdsErrorCode(f.fields ?? [], version)) {
      arrayUsed = true;
      const subReq = mirrored.decl.fields ?? [];
      const items = mirrored.items.map((item) => build(f.fields ?? [], subReq, item as KafkaMessage | string | number, version, code, message));
      msg[f.name] = items.map((b) => b.msg);
      if (items.some((b) => b.coded)) coded = true;
    } else if (f.type !== 'struct' && !f.type.startsWith('[]')) {
      identify(msg, f, source);
      if (!(f.name in msg)) msg[f.name] = f.type === 'int64' && f.default === undefined ? -1 : defaultOf(f);
    }
  }
  return { msg, coded };
}

export function kafkaErrorResponse(
  api: { request: readonly FieldDecl[]; response: readonly FieldDecl[] },
  version: number,
  request: KafkaMessage,
  code: number,
  message: string,
): KafkaMessage | null {
  const { msg, coded } = build(api.response, api.request, request, version, code, message);
  return coded ? msg : null;
}
