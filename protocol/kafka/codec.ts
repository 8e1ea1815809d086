/**
 * The one generic codec: reads and writes any declared message (schema.ts) at any version.
 *
 * `compileMessage(fields, version, flexible)` turns a declaration into a plan for one version,
 * once: the fields present in that version in wire order, each with its kind, nullability and
 * compactness resolved, the tagged fields sorted by tag, and the fields absent from the version
 * (filled with their defaults on read, so a handler always sees every field). Reading and
 * writing then walk the plan with no version-range checks per call.
 *
 * In flexible versions every struct (the message, and each struct or array item inside it) ends
 * with its tagged fields: unknown tags are skipped on read; a known tagged field is written only
 * when its value differs from its default (KIP-482).
 */
import { inVersions, type DefaultValue, type FieldDecl, type KafkaMessage } from './schema.js';
import { KafkaReader, KafkaWriter, malformed, ZERO_UUID } from './types.js';

const BOOL = 0;
const INT8 = 1;
const INT16 = 2;
const UINT16 = 3;
const INT32 = 4;
const UINT32 = 5;
const INT64 = 6;
const FLOAT64 = 7;
const STRING = 8;
const BYTES = 9;
const RECORDS = 10;
const UUID = 11;
const STRUCT = 12;
const ARRAY = 13;

const KIND_OF: Record<string, number> = {
  bool: BOOL, int8: INT8, int16: INT16, uint16: UINT16, int32: INT32, uint32: UINT32, int64: INT64,
  float64: FLOAT64, string: STRING, bytes: BYTES, records: RECORDS, uuid: UUID, struct: STRUCT,
};
const FIXED_BYTES = [1, 1, 2, 2, 4, 4, 8, 8, 0, 0, 0, 16];

export interface FieldPlan {
  readonly name: string;
  readonly kind: number;
  /** Item kind of an array (STRUCT for struct arrays). */
  readonly item: number;
  readonly nullable: boolean;
  readonly compact: boolean;
  /** The struct's plan (a struct field, or the items of a struct array). */
  readonly struct: MessagePlan | null;
  /** Tag of a tagged field in this version, else -1. */
  readonly tag: number;
  /** Fewest bytes one array item can take: bounds untrusted counts. */
  readonly itemBytesMin: number;
  readonly decl: FieldDecl;
}

export interface MessagePlan {
  readonly version: number;
  readonly flexible: boolean;
  /** Fields in wire order (not tagged). */
  readonly fields: readonly FieldPlan[];
  /** Tagged fields, ascending tag. */
  readonly tagged: readonly FieldPlan[];
  /** Fields the version lacks, set to their defaults on read. */
  readonly absent: readonly FieldDecl[];
  /** Fewest bytes the struct can take. */
  readonly bytesMin: number;
}

/** Compiles the plan of `fields` at `version`; `flexible` is the message's flexibility at that version. */
export function compileMessage(fields: readonly FieldDecl[], version: number, flexible: boolean): MessagePlan {
  const wire: FieldPlan[] = [];
  const tagged: FieldPlan[] = [];
  const absent: FieldDecl[] = [];
  let bytesMin = flexible ? 1 : 0;
  for (const decl of fields) {
    if (!inVersions(decl.versions, version)) {
      absent.push(decl);
      continue;
    }
    const isArray = decl.type.startsWith('[]');
    const base = isArray ? decl.type.slice(2) : decl.type;
    const baseKind = KIND_OF[base];
    if (baseKind === undefined) throw new TypeError(`field ${decl.name}: unknown type ${decl.type}`);
    const compact = flexible && (decl.flexibleVersions === undefined || inVersions(decl.flexibleVersions, version));
    const isTagged = flexible && inVersions(decl.taggedVersions, version);
    const struct = baseKind === STRUCT ? compileMessage(decl.fields ?? [], version, flexible) : null;
    const itemBytesMin = baseKind === STRUCT ? struct!.bytesMin : minBytes(baseKind, compact);
    const plan: FieldPlan = {
      name: decl.name,
      kind: isArray ? ARRAY : baseKind,
      item: baseKind,
      nullable: inVersions(decl.nullableVersions, version),
      compact,
      struct,
      tag: isTagged ? decl.tag! : -1,
      itemBytesMin,
      decl,
    };
    if (isTagged) {
      tagged.push(plan);
    } else {
      wire.push(plan);
      bytesMin += isArray ? (compact ? 1 : 4) : baseKind === STRUCT ? itemBytesMin : minBytes(baseKind, compact);
    }
  }
  tagged.sort((a, b) => a.tag - b.tag);
  return { version, flexible, fields: wire, tagged, absent, bytesMin };
}

function minBytes(kind: number, compact: boolean): number {
  if (kind === STRING) return compact ? 1 : 2;
  if (kind === BYTES || kind === RECORDS) return compact ? 1 : 4;
  return FIXED_BYTES[kind]!;
}

/** The value a field takes when absent: its declared default, else its type's zero value (fresh objects). */
export function defaultOf(decl: FieldDecl): unknown {
  const d: DefaultValue | undefined = decl.default;
  if (d === null) return null;
  if (decl.type.startsWith('[]')) return [];
  if (decl.type === 'struct') return defaultStruct(decl.fields ?? []);
  if (d !== undefined) return d;
  switch (decl.type) {
    case 'bool': return false;
    case 'string': return '';
    case 'uuid': return ZERO_UUID;
    case 'bytes': return Buffer.alloc(0);
    case 'records': return null;
    default: return 0;
  }
}

function defaultStruct(fields: readonly FieldDecl[]): KafkaMessage {
  const out: KafkaMessage = {};
  for (const f of fields) out[f.name] = defaultOf(f);
  return out;
}

// ---------------------------------------------------------------- reading

export function readMessage(plan: MessagePlan, r: KafkaReader): KafkaMessage {
  const out: KafkaMessage = {};
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    out[f.name] = readField(f, r);
  }
  const absent = plan.absent;
  for (let i = 0; i < absent.length; i++) out[absent[i]!.name] = defaultOf(absent[i]!);
  if (plan.flexible) readTaggedFields(plan, r, out);
  return out;
}

function readTaggedFields(plan: MessagePlan, r: KafkaReader, out: KafkaMessage): void {
  const tagged = plan.tagged;
  for (let i = 0; i < tagged.length; i++) out[tagged[i]!.name] = defaultOf(tagged[i]!.decl);
  const count = r.uvarint();
  // Each tagged field takes at least two bytes (tag and size).
  if (count * 2 > r.remaining) throw malformed(`tagged field count ${count} exceeds the bytes left`);
  // Writers send tags in ascending order; like Kafka's reader, this one does not insist on it.
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    const start = r.take(size);
    const field = tagged.find((t) => t.tag === tag);
    if (field === undefined) continue; // unknown tag: skipped, as KIP-482 requires
    const end = r.end;
    r.pos = start;
    r.end = start + size;
    out[field.name] = readField(field, r);
    if (r.pos !== start + size) throw malformed(`tagged field ${tag} is ${size} bytes but its value took ${r.pos - start}`);
    r.end = end;
  }
}

function readField(f: FieldPlan, r: KafkaReader): unknown {
  switch (f.kind) {
    case ARRAY: {
      const n = r.arrayCount(f.compact, f.itemBytesMin);
      if (n < 0) return nullOrFail(f, f.nullable);
      const items: unknown[] = [];
      if (f.item === STRUCT) {
        const sub = f.struct!;
        for (let i = 0; i < n; i++) items.push(readMessage(sub, r));
      } else {
        // Items of a primitive array are never null, whatever the array's own nullability.
        for (let i = 0; i < n; i++) items.push(readItem(f, f.item, r, false));
      }
      return items;
    }
    case STRUCT:
      return readMessage(f.struct!, r);
    default:
      return readItem(f, f.kind, r, f.nullable);
  }
}

function readItem(f: FieldPlan, kind: number, r: KafkaReader, nullable: boolean): unknown {
  switch (kind) {
    case BOOL: return r.bool();
    case INT8: return r.int8();
    case INT16: return r.int16();
    case UINT16: return r.uint16();
    case INT32: return r.int32();
    case UINT32: return r.uint32();
    case INT64: return r.int64();
    case FLOAT64: return r.float64();
    case UUID: return r.uuid();
    case STRING: {
      const s = r.string(f.compact);
      return s === null ? nullOrFail(f, nullable) : s;
    }
    default: {
      const b = r.bytes(f.compact);
      return b === null ? nullOrFail(f, nullable) : b;
    }
  }
}

function nullOrFail(f: FieldPlan, nullable: boolean): null {
  if (!nullable) throw malformed(`field ${f.name} is null but not nullable in this version`);
  return null;
}

// ---------------------------------------------------------------- writing

/** Writes `msg` by `plan`; a missing (undefined) field is written as its default. */
export function writeMessage(plan: MessagePlan, msg: KafkaMessage, w: KafkaWriter): void {
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = msg[f.name];
    writeField(f, v === undefined ? defaultOf(f.decl) : v, w);
  }
  if (plan.flexible) writeTaggedFields(plan, msg, w);
}

function writeTaggedFields(plan: MessagePlan, msg: KafkaMessage, w: KafkaWriter): void {
  const tagged = plan.tagged;
  let present = 0;
  for (let i = 0; i < tagged.length; i++) {
    if (!isDefault(tagged[i]!.decl, msg[tagged[i]!.name])) present++;
  }
  w.uvarint(present);
  if (present === 0) return;
  for (let i = 0; i < tagged.length; i++) {
    const f = tagged[i]!;
    const v = msg[f.name];
    if (isDefault(f.decl, v)) continue;
    const sub = new KafkaWriter();
    writeField(f, v, sub);
    w.uvarint(f.tag);
    w.uvarint(sub.length);
    w.append(sub);
  }
}

/** Whether a tagged field's value equals its default, so it can be left off the wire. */
function isDefault(decl: FieldDecl, v: unknown): boolean {
  if (v === undefined) return true;
  const d = decl.default;
  if (d === null) return v === null;
  if (decl.type.startsWith('[]')) return Array.isArray(v) && v.length === 0;
  if (decl.type === 'struct') {
    if (v === null || typeof v !== 'object') return false;
    const o = v as KafkaMessage;
    return (decl.fields ?? []).every((f) => isDefault(f, o[f.name]));
  }
  if (decl.type === 'bytes') return Buffer.isBuffer(v) && v.length === 0 && d === undefined;
  return v === defaultOf(decl);
}

function writeField(f: FieldPlan, v: unknown, w: KafkaWriter): void {
  if (v === null) {
    if (!f.nullable || f.kind === STRUCT) throw new TypeError(`field ${f.name} is not nullable in this version`);
    w.count(-1, f.compact, f.kind !== STRING);
    return;
  }
  switch (f.kind) {
    case ARRAY: {
      if (!Array.isArray(v)) throw new TypeError(`field ${f.name} must be an array`);
      w.count(v.length, f.compact, true);
      if (f.item === STRUCT) {
        const sub = f.struct!;
        for (let i = 0; i < v.length; i++) writeMessage(sub, v[i] as KafkaMessage, w);
      } else {
        for (let i = 0; i < v.length; i++) {
          if (v[i] === null || v[i] === undefined) throw new TypeError(`field ${f.name} has a null item`);
          writeItem(f, f.item, v[i], w);
        }
      }
      return;
    }
    case STRUCT:
      writeMessage(f.struct!, v as KafkaMessage, w);
      return;
    default:
      writeItem(f, f.kind, v, w);
  }
}

function writeItem(f: FieldPlan, kind: number, v: unknown, w: KafkaWriter): void {
  switch (kind) {
    case BOOL: return w.bool(v as boolean);
    case INT8: return w.int8(v as number);
    case INT16: return w.int16(v as number);
    case UINT16: return w.uint16(v as number);
    case INT32: return w.int32(v as number);
    case UINT32: return w.uint32(v as number);
    case INT64: return w.int64(v as number);
    case FLOAT64: return w.float64(v as number);
    case UUID: return w.uuid(v as string);
    case STRING:
      if (typeof v !== 'string') throw new TypeError(`field ${f.name} must be a string`);
      return w.string(v, f.compact);
    default:
      if (!Buffer.isBuffer(v) && !(kind === RECORDS && Array.isArray(v))) {
        throw new TypeError(`field ${f.name} must be a Buffer${kind === RECORDS ? ' or Buffer[]' : ''}`);
      }
      return w.bytes(v as Buffer | Buffer[], f.compact);
  }
}
