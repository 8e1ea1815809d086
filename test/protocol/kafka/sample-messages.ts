/**
 * Representative messages for any declared API and version, built by walking the declaration
 * (test helper). 'full' gives every field a non-default value (tagged fields included, strings
 * with non-ASCII, int64 near the safe-integer limits, two items per array); 'empty' gives
 * nullable fields null and other arrays none, and leaves tagged fields out.
 */
import { inVersions, type FieldDecl, type KafkaMessage } from '../../../protocol/kafka/schema.js';

export type Flavour = 'full' | 'empty';

/** A deterministic stream of small numbers so values differ field to field. */
class Counter {
  n = 0;
  next(): number {
    return ++this.n;
  }
}

export function sampleMessage(fields: readonly FieldDecl[], version: number, flexible: boolean, flavour: Flavour, records?: Buffer): KafkaMessage {
  return sampleStruct(fields, version, flexible, flavour, new Counter(), records);
}

function sampleStruct(fields: readonly FieldDecl[], version: number, flexible: boolean, flavour: Flavour, c: Counter, records?: Buffer): KafkaMessage {
  const out: KafkaMessage = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    const tagged = flexible && inVersions(f.taggedVersions, version);
    if (tagged && flavour === 'empty') continue;
    if (f.taggedVersions !== undefined && !tagged) continue;
    out[f.name] = sampleField(f, version, flexible, flavour, c, records);
  }
  return out;
}

function sampleField(f: FieldDecl, version: number, flexible: boolean, flavour: Flavour, c: Counter, records?: Buffer): unknown {
  const nullable = inVersions(f.nullableVersions, version);
  if (flavour === 'empty' && nullable) return null;
  if (f.type.startsWith('[]')) {
    if (flavour === 'empty') return [];
    const item = f.type.slice(2);
    const one = (): unknown => (item === 'struct' ? sampleStruct(f.fields!, version, flexible, flavour, c, records) : samplePrimitive(item, c, records));
    return [one(), one()];
  }
  if (f.type === 'struct') return sampleStruct(f.fields!, version, flexible, flavour, c, records);
  if (flavour === 'empty') {
    if (f.type === 'string') return '';
    if (f.type === 'bytes') return Buffer.alloc(0);
  }
  return samplePrimitive(f.type, c, records);
}

function samplePrimitive(type: string, c: Counter, records?: Buffer): unknown {
  const n = c.next();
  switch (type) {
    case 'bool': return n % 2 === 0;
    case 'int8': return (n % 2 === 0 ? -1 : 1) * (n % 120);
    case 'int16': return (n % 2 === 0 ? -1 : 1) * (300 + n);
    case 'uint16': return 65535 - n;
    case 'int32': return (n % 2 === 0 ? -1 : 1) * (70000 + n);
    case 'uint32': return 4294967295 - n;
    case 'int64': return n % 3 === 0 ? Number.MAX_SAFE_INTEGER - n : n % 3 === 1 ? -(2 ** 40) - n : 1_700_000_000_000 + n;
    case 'float64': return n + 0.25;
    case 'string': return `né-${n}`;
    case 'uuid': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) b[i] = (n * 37 + i * 11) & 0xff;
      return b.toString('base64url');
    }
    case 'bytes': return Buffer.from([n & 0xff, 0, 0xff, n >> 8]);
    case 'records': return records ?? Buffer.from(`batch-${n}`);
    default: throw new Error(`no sample for ${type}`);
  }
}
