/**
 * How `rill consume` renders keys, values and header values: as UTF-8 text (the default; bytes
 * that are not UTF-8 become U+FFFD), or losslessly as base64 or hex for binary payloads
 * (`--key-format`, `--value-format`), the choice kcat and kafka-console-consumer users make.
 */
import type { ConsumedMessage } from '../client/index.js';

export const BYTES_FORMATS = ['text', 'base64', 'hex'] as const;
export type BytesFormat = (typeof BYTES_FORMATS)[number];

export interface RenderOptions {
  format: 'text' | 'json';
  keyFormat: BytesFormat;
  valueFormat: BytesFormat;
}

export function renderBytes(bytes: Buffer | null, format: BytesFormat): string | null {
  if (bytes === null) return null;
  return bytes.toString(format === 'text' ? 'utf8' : format);
}

/** One output line: text prints the value (`null` for a tombstone); json prints every field. */
export function messageLine(m: ConsumedMessage, opts: RenderOptions): string {
  if (opts.format === 'text') return (renderBytes(m.value, opts.valueFormat) ?? 'null') + '\n';
  const headers: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(m.headers)) headers[k] = renderBytes(v, opts.valueFormat);
  return (
    JSON.stringify({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: renderBytes(m.key, opts.keyFormat),
      value: renderBytes(m.value, opts.valueFormat),
      headers,
      timestamp: m.timestamp,
    }) + '\n'
  );
}
