/**
 * Building blocks shared by every API schema. One declaration gives both the TypeScript type
 * (`Static<typeof X>`) and the runtime validator (compiled once in ./index.ts).
 *
 * 64-bit quantities (offsets, timestamps, producer ids) are JS numbers guarded to
 * Number.MAX_SAFE_INTEGER (2^53-1); on the wire they are always msgpack integers, never float64
 * (protocol/messages.ts), so every msgpack library reads them as integers.
 *
 * A field that may be left out carries its value in `default` (see `Defaulted`); the broker
 * fills every default in one place before a handler sees the request.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const Int32 = (opts: { minimum?: number; maximum?: number } = {}) =>
  Type.Integer({ minimum: opts.minimum ?? -2147483648, maximum: opts.maximum ?? 2147483647 });
export const Int16 = () => Type.Integer({ minimum: -32768, maximum: 32767 });
/** Offsets, timestamps, producer ids: int64 restricted to the safe-integer range. */
export const Int64 = (opts: { minimum?: number } = {}) =>
  Type.Integer({ minimum: opts.minimum ?? -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
export const ErrorCodeField = () => Type.Integer({ minimum: -1, maximum: 32767 });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const NullableString = () => Nullable(Type.String({ maxLength: 65536 }));
/**
 * Any string up to Kafka's string limit: whether it is a legal topic name is a per-topic
 * answer (INVALID_TOPIC_EXCEPTION, protocol/topic-name.ts), not a malformed request.
 */
export const TopicName = () => Type.String({ maxLength: 32767, description: 'topic name; an illegal one is answered INVALID_TOPIC_EXCEPTION for that topic' });
/** A field that may be omitted: the broker reads it as `value`. */
export const Defaulted = <T extends TSchema>(t: T, value: Static<T>) => Type.Optional({ ...t, default: value } as T);
export const GroupId = () => Type.String({ minLength: 1, maxLength: 255 });
export const PartitionIndex = () => Type.Integer({ minimum: 0, maximum: 2147483647 });
/** Record batches travel as msgpack `bin`: byte-identical to the log on disk. */
export const Bytes = () => Type.Uint8Array();
export const TopicPartitions = () =>
  Type.Array(Type.Object({ topic: TopicName(), partitions: Type.Array(PartitionIndex(), { maxItems: 100000 }) }), { maxItems: 100000 });

/**
 * A request as the broker hands it to a handler: every omitted field has been filled from its
 * `default`, so no field is optional. Clients build `Static<typeof XRequest>` (RequestOf),
 * where defaulted fields may be left out.
 */
export type StaticRequest<S extends TSchema> = Filled<Static<S>>;
type Filled<T> = T extends Uint8Array
  ? T
  : T extends ReadonlyArray<infer E>
    ? Filled<E>[]
    : T extends object
      ? { [K in keyof T]-?: Filled<Exclude<T[K], undefined>> }
      : T;
