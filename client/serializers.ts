/**
 * Value helpers: rill moves bytes; these turn app values into Buffers and back.
 *
 *   await producer.send({ topic, messages: [{ value: serializers.json.serialize({ id: 1 }) }] });
 *   const order = serializers.json.deserialize<Order>(message.value);
 *
 * msgpack uses msgpackr with `useRecords: false`, so any language's msgpack library reads it.
 * Every `deserialize` maps a null value (a tombstone) to null.
 */
import { Packr } from 'msgpackr';

export interface Serializer<T = unknown> {
  serialize(value: T): Buffer;
  deserialize<R = T>(bytes: Buffer | null): R | null;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export const json: Serializer = {
  serialize: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  deserialize: <R>(bytes: Buffer | null) => (bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as R)),
};

export const msgpack: Serializer = {
  // pack() may return a view of a shared scratch buffer: copy so the caller owns its bytes.
  serialize: (value) => Buffer.from(packr.pack(value)),
  deserialize: <R>(bytes: Buffer | null) => (bytes === null ? null : (packr.unpack(bytes) as R)),
};

export const string: Serializer<string> = {
  serialize: (value) => Buffer.from(value, 'utf8'),
  deserialize: <R>(bytes: Buffer | null) => (bytes === null ? null : (bytes.toString('utf8') as R)),
};

export const serializers = { json, msgpack, string } as const;
