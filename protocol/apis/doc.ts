/**
 * Renders the per-API part of docs/PROTOCOL.md from the registry: for each API, the prose of
 * its module's header comment and one table per request and response listing every field with
 * its type, whether it is required (and its default), whether it may be null, and its range.
 * The tables come from the TypeBox schemas themselves, so the document cannot drift from what
 * the broker checks; test/protocol/protocol-doc.test.ts fails when the committed document
 * differs from what this renders.
 *
 *   node dist/protocol/apis/doc.js [--check]     (npm run docs:protocol)
 *
 * rewrites the region between BEGIN_MARK and END_MARK in docs/PROTOCOL.md (or, with --check,
 * exits 1 when it is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { allApis, type ApiName } from './index.js';
import { RequestErrorResponse } from './request-error.js';

export const BEGIN_MARK = '<!-- BEGIN GENERATED API REFERENCE: edit protocol/apis/*.ts, then run `npm run docs:protocol` -->';
export const END_MARK = '<!-- END GENERATED API REFERENCE -->';

const INT64_MAX = Number.MAX_SAFE_INTEGER;
const NAMED_BOUNDS = new Map<number, string>([
  [INT64_MAX, '2^53-1'],
  [-INT64_MAX, '-(2^53-1)'],
  [2147483647, '2^31-1'],
  [-2147483648, '-2^31'],
  [32767, '2^15-1'],
  [-32768, '-2^15'],
]);

interface Row {
  field: string;
  type: string;
  required: string;
  nullable: boolean;
  range: string;
  notes: string;
}

/** `ConsumerGroupHeartbeat` → `consumer-group-heartbeat`, the module's file name. */
export function moduleNameOf(api: ApiName): string {
  return api.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '-') + c.toLowerCase());
}

/** The prose of a module's first comment: without the ` * `, the "Name (key N)." lead and the shape block. */
export function proseOf(source: string, api: ApiName): string {
  const match = /\/\*\*([\s\S]*?)\*\//.exec(source);
  if (match === null) return '';
  const lines = match[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
  const out: string[] = [];
  let inShape = false;
  for (const line of lines) {
    if (/^\s+(request|response):/.test(line)) inShape = true;
    else if (inShape && line.trim() === '') inShape = false;
    else if (inShape && /^\s{3,}/.test(line)) continue;
    if (!inShape) out.push(line);
  }
  const text = out.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  return text.replace(new RegExp(`^${api} \\(key \\d+\\)(, |\\. ?)?`), '').replace(/^\s+/, '').trim();
}

function bound(n: number): string {
  return NAMED_BOUNDS.get(n) ?? String(n);
}

function integerType(s: TSchema): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (max !== undefined && max <= 32767 && (min ?? 0) >= -32768) return 'int16';
  if (max !== undefined && max <= 2147483647 && (min ?? 0) >= -2147483648) return 'int32';
  return 'int64';
}

function rangeOf(s: TSchema): string {
  if (s.type === 'integer' || s.type === 'number') {
    const min = s.minimum as number | undefined;
    const max = s.maximum as number | undefined;
    if (min !== undefined && max !== undefined) return `${bound(min)} .. ${bound(max)}`;
    if (min !== undefined) return `>= ${bound(min)}`;
    if (max !== undefined) return `<= ${bound(max)}`;
    return '';
  }
  if (s.type === 'string') {
    const parts = [];
    if (s.minLength !== undefined) parts.push(`>= ${s.minLength as number} chars`);
    if (s.maxLength !== undefined) parts.push(`<= ${s.maxLength as number} chars`);
    return parts.join(', ');
  }
  if (s.type === 'array') {
    const parts = [];
    if (s.minItems !== undefined) parts.push(`>= ${s.minItems as number} items`);
    if (s.maxItems !== undefined) parts.push(`<= ${s.maxItems as number} items`);
    return parts.join(', ');
  }
  return '';
}

function isNull(s: TSchema): boolean {
  return s.type === 'null';
}

/** Strips a `T | null` union to T; reports whether null was allowed. */
function unwrapNullable(s: TSchema): { schema: TSchema; nullable: boolean } {
  const options = s.anyOf as TSchema[] | undefined;
  if (options !== undefined && options.some(isNull)) {
    const rest = options.filter((o) => !isNull(o));
    if (rest.length === 1) return { schema: rest[0]!, nullable: true };
    return { schema: { ...s, anyOf: rest } as TSchema, nullable: true };
  }
  return { schema: s, nullable: false };
}

function typeName(s: TSchema): string {
  if (s.const !== undefined) return `literal ${JSON.stringify(s.const)}`;
  const options = s.anyOf as TSchema[] | undefined;
  if (options !== undefined) {
    if (options.every((o) => o.const !== undefined)) return options.map((o) => JSON.stringify(o.const)).join(' \\| ');
    return options.map(typeName).join(' \\| ');
  }
  if (s[Kind] === 'Uint8Array') return 'bin';
  if (s.type === 'integer') return integerType(s);
  if (s.type === 'string') return 'string';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'array') return `array of ${typeName(s.items as TSchema)}`;
  if (s[Kind] === 'Record') return `map of string to ${typeName(Object.values(s.patternProperties as Record<string, TSchema>)[0]!)}`;
  if (s.type === 'object') return 'map';
  return String(s.type ?? s[Kind]);
}

function rows(schema: TSchema, prefix: string, out: Row[]): void {
  const props = schema.properties as Record<string, TSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [name, raw] of Object.entries(props)) {
    const field = prefix + name;
    const optional = raw[OptionalKind] === 'Optional' || !required.has(name);
    const { schema: s, nullable } = unwrapNullable(raw);
    const requiredText = !optional ? 'yes' : raw.default !== undefined ? `no, default ${JSON.stringify(raw.default)}` : 'no';
    const errorCode = (raw.errorCode ?? s.errorCode) as number | undefined;
    const notes = [s.description ?? raw.description, errorCode === undefined ? undefined : `a bad value is answered with error ${errorCode}`].filter(Boolean).join('; ');
    out.push({ field: `\`${field}\``, type: typeName(s), required: requiredText, nullable, range: rangeOf(s), notes: notes as string });
    if (s.type === 'object' && s.properties !== undefined) rows(s, `${field}.`, out);
    if (s.type === 'array') {
      const item = unwrapNullable(s.items as TSchema).schema;
      if (item.type === 'object' && item.properties !== undefined) rows(item, `${field}[].`, out);
    }
  }
}

export function fieldTable(schema: TSchema): string {
  const out: Row[] = [];
  rows(schema, '', out);
  const lines = ['| field | type | required | nullable | range | notes |', '|---|---|---|---|---|---|'];
  for (const r of out) lines.push(`| ${r.field} | ${r.type} | ${r.required} | ${r.nullable ? 'yes' : 'no'} | ${r.range} | ${r.notes} |`);
  return lines.join('\n');
}

/** The generated region (markers included), given each API module's source text. */
export function renderApiReference(sourceOf: (api: ApiName) => string): string {
  const parts = [BEGIN_MARK, ''];
  parts.push('#### The request-error answer (every API)', '');
  parts.push('What every API answers when it cannot read a request (see "What the broker does with bad requests").', '');
  parts.push(fieldTable(RequestErrorResponse), '');
  for (const def of allApis()) {
    parts.push(`#### ${def.name} (key ${def.key})`, '');
    const prose = proseOf(sourceOf(def.name), def.name);
    if (prose !== '') parts.push(prose, '');
    parts.push('Request:', '', fieldTable(def.request), '', 'Response:', '', fieldTable(def.response), '');
  }
  parts.push(END_MARK);
  return parts.join('\n');
}

/** `doc` with its generated region replaced by `region`. */
export function replaceRegion(doc: string, region: string): string {
  const begin = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (begin < 0 || end < begin) throw new Error(`the document has no ${BEGIN_MARK} ... ${END_MARK} region`);
  return doc.slice(0, begin) + region + doc.slice(end + END_MARK.length);
}

export function renderProtocolDoc(rootDir: string): { path: string; current: string; expected: string } {
  const path = join(rootDir, 'docs', 'PROTOCOL.md');
  const current = readFileSync(path, 'utf8');
  const region = renderApiReference((api) => readFileSync(join(rootDir, 'protocol', 'apis', `${moduleNameOf(api)}.ts`), 'utf8'));
  return { path, current, expected: replaceRegion(current, region) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { path, current, expected } = renderProtocolDoc(process.cwd());
  if (process.argv.includes('--check')) {
    if (current !== expected) {
      process.stderr.write(`${path} is stale: run npm run docs:protocol\n`);
      process.exit(1);
    }
  } else if (current !== expected) {
    writeFileSync(path, expected);
    process.stdout.write(`rewrote the API reference in ${path}\n`);
  }
}
