/**
 * The shape of a Kafka API declaration: the same vocabulary as Apache Kafka's message JSON
 * specifications (`clients/src/main/resources/common/message/*.json`), written as TypeScript
 * data in protocol/kafka/messages/ and read by the one generic codec in codec.ts.
 *
 * Field names are the spec's names with the first letter lower-cased (`ErrorCode` ->
 * `errorCode`); version strings keep the spec's form: "3+", "0-4", "5", or "none".
 *
 * Decoded values (what the codec reads and expects to write):
 *   bool -> boolean; int8/16/32, uint16/32, float64 -> number;
 *   int64 -> number, guarded to the safe-integer range (|n| <= 2^53 - 1; see types.ts);
 *   string -> string; uuid -> string, Kafka's base64url form (22 characters, no padding);
 *   bytes, records -> Buffer (a view into the frame; records may be written as Buffer[]);
 *   struct -> object; arrays -> arrays; null where the field is nullable in that version.
 */

export type PrimitiveType =
  | 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64'
  | 'string' | 'bytes' | 'records' | 'uuid';

export type FieldType = PrimitiveType | `[]${PrimitiveType}` | 'struct' | '[]struct';

export type DefaultValue = number | boolean | string | null;

export interface FieldDecl {
  readonly name: string;
  readonly type: FieldType;
  /** Versions the field exists in. */
  readonly versions: string;
  /** Versions in which the value may be null (strings, bytes, records, arrays). */
  readonly nullableVersions?: string;
  /** Versions in which the field travels as a tagged field (KIP-482) with `tag`. */
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** Overrides the message's flexible versions for this field (only "none", in RequestHeader). */
  readonly flexibleVersions?: string;
  /** Value when absent from a version or from the tagged fields; written tagged only when different. */
  readonly default?: DefaultValue;
  /** Sub-fields of a struct or of the elements of a struct array. */
  readonly fields?: readonly FieldDecl[];
}

export interface ApiDecl {
  /** Kafka's API key. */
  readonly key: number;
  readonly name: string;
  /** Versions rill serves (a subset of Kafka's validVersions). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Versions that use compact encodings and tagged fields, e.g. "9+". */
  readonly flexibleVersions: string;
  readonly request: readonly FieldDecl[];
  readonly response: readonly FieldDecl[];
}

/** A decoded message: field name -> value (see the file comment for the value types). */
export type KafkaMessage = Record<string, unknown>;

/** True when `version` lies in the spec range `range` ("3+", "0-4", "5", "none"). */
export function inVersions(range: string | undefined, version: number): boolean {
  if (range === undefined || range === 'none') return false;
  if (range.endsWith('+')) return version >= Number(range.slice(0, -1));
  const dash = range.indexOf('-');
  if (dash < 0) return version === Number(range);
  return version >= Number(range.slice(0, dash)) && version <= Number(range.slice(dash + 1));
}

// ---------------------------------------------------------------- types derived from declarations

/** The value each primitive type decodes to. */
interface PrimitiveValue {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  uint32: number;
  int64: number;
  float64: number;
  string: string;
  bytes: Buffer;
  records: Buffer;
  uuid: string;
}

/** What writing accepts: the same, except that records may be several Buffers sent back to back. */
interface PrimitiveInput extends Omit<PrimitiveValue, 'records'> {
  records: Buffer | readonly Buffer[];
}

type NullIfNullable<F> = F extends { readonly nullableVersions: string } ? null : never;

type FieldValue<F, P> =
  | (F extends { readonly type: '[]struct'; readonly fields: infer S extends readonly FieldDecl[] } ? Array<StructOf<S, P>>
    : F extends { readonly type: 'struct'; readonly fields: infer S extends readonly FieldDecl[] } ? StructOf<S, P>
    : F extends { readonly type: `[]${infer T extends PrimitiveType}` } ? Array<P[T & keyof P]>
    : F extends { readonly type: infer T extends PrimitiveType } ? P[T & keyof P]
    : never)
  | NullIfNullable<F>;

type StructOf<S extends readonly FieldDecl[], P> = P extends PrimitiveValue
  ? { [F in S[number] as F['name']]: FieldValue<F, P> }
  : { [F in S[number] as F['name']]?: FieldValue<F, P> };

/**
 * The decoded shape of a declared message, derived from its declaration (declared `as const`):
 * every field of every served version is present, since reading fills absent ones with defaults.
 * `KafkaRequestBody<typeof PRODUCE>` is what `decodeRequest(...).body` holds for Produce.
 */
export type KafkaRequestBody<A extends ApiDecl> = StructOf<A['request'], PrimitiveValue>;
export type KafkaResponseBody<A extends ApiDecl> = StructOf<A['response'], PrimitiveValue>;

/** What encoding accepts: every field optional (a missing one is written as its default). */
export type KafkaRequestInput<A extends ApiDecl> = StructOf<A['request'], PrimitiveInput>;
export type KafkaResponseInput<A extends ApiDecl> = StructOf<A['response'], PrimitiveInput>;
