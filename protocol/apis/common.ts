/**
 * Building blocks shared by every API schema. One declaration gives both the TypeScript type
 * (`Static<typeof X>`) and the runtime validator (compiled once in ./index.ts).
 *
 * 64-bit quantities (offsets, timestamps, producer ids) are JS numbers on the wire, guarded to
 * Number.MAX_SAFE_INTEGER (2^53-1): msgpack carries them as int64/uint64/float64 and every
 * msgpack library decodes them losslessly in that range. See docs/PROTOCOL.md.
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const Int32 = (opts: { minimum?: number; maximum?: number } = {}) =>
  Type.Integer({ minimum: opts.minimum ?? -2147483648, maximum: opts.maximum ?? 2147483647 });
export const Int16 = () => Type.Integer({ minimum: -32768, maximum: 32767 });
/** Offsets, timestamps, producer ids: int64 restricted to the safe-integer range. */
export const Int64 = (opts: { minimum?: number } = {}) =>
  Type.Integer({ minimum: opts.minimum ?? -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
export const ErrorCodeField = () => Type.Integer({ minimum: -1, maximum: 32767 });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const NullableString = () => Nullable(Type.String({ maxLength: 65536 }));
/** Topic names as Kafka allows them: [a-zA-Z0-9._-], 1..249 chars. */
export const TOPIC_NAME_PATTERN = '^[a-zA-Z0-9._-]{1,249}$';
export const TopicName = () => Type.String({ minLength: 1, maxLength: 249 });
export const GroupId = () => Type.String({ minLength: 1, maxLength: 255 });
export const PartitionIndex = () => Type.Integer({ minimum: 0, maximum: 2147483647 });
/** Record batches travel as msgpack `bin`: byte-identical to the log on disk. */
export const Bytes = () => Type.Uint8Array();
export const TopicPartitions = () =>
  Type.Array(Type.Object({ topic: TopicName(), partitions: Type.Array(PartitionIndex(), { maxItems: 100000 }) }), { maxItems: 100000 });
