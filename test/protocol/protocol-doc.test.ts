/**
 * docs/PROTOCOL.md's API reference is generated from the request/response schemas; this fails
 * when the committed document and the schemas (or the modules' header comments) drift apart.
 * Fix: `npm run docs:protocol`.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { Defaulted, Int64, Nullable } from '../../protocol/apis/common.js';
import { BEGIN_MARK, END_MARK, fieldTable, moduleNameOf, proseOf, renderProtocolDoc } from '../../protocol/apis/doc.js';
import { allApis } from '../../protocol/apis/index.js';

describe('docs/PROTOCOL.md API reference', () => {
  it('matches what the schemas render (run `npm run docs:protocol` after changing protocol/apis/)', () => {
    const { current, expected } = renderProtocolDoc(process.cwd());
    expect(current.includes(BEGIN_MARK) && current.includes(END_MARK)).toBe(true);
    expect(current).toBe(expected);
  });

  it('documents every API, every request field and the shared request-error answer', () => {
    const { current } = renderProtocolDoc(process.cwd());
    expect(current).toContain('#### The request-error answer (every API)');
    for (const def of allApis()) {
      expect(current).toContain(`#### ${def.name} (key ${def.key})`);
      for (const field of Object.keys((def.request as unknown as { properties: object }).properties)) expect(current).toContain(`| \`${field}\` |`);
    }
  });

  it('renders type, requiredness with default, nullability and range from a schema', () => {
    const table = fieldTable(
      Type.Object({
        offset: Int64({ minimum: -1 }),
        metadata: Defaulted(Nullable(Type.String({ maxLength: 10 })), null),
        items: Type.Array(Type.Object({ flag: Type.Boolean() }), { maxItems: 5 }),
      }),
    );
    expect(table.split('\n').slice(2)).toEqual([
      '| `offset` | int64 | yes | no | -1 .. 2^53-1 |  |',
      '| `metadata` | string | no, default null | yes | <= 10 chars |  |',
      '| `items` | array of map | yes | no | <= 5 items |  |',
      '| `items[].flag` | boolean | yes | no |  |  |',
    ]);
  });

  it('takes the prose from the header comment, without the shape block', () => {
    const prose = proseOf('/**\n * Foo (key 7). Does things.\n *\n *   request:  { a }\n *   response: { b,\n *               c }\n *\n * More.\n */', 'Foo' as never);
    expect(prose).toBe('Does things.\n\nMore.');
    expect(moduleNameOf('ConsumerGroupHeartbeat')).toBe('consumer-group-heartbeat');
  });
});
