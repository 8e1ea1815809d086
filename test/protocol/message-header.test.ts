import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../protocol/frame.js';
import {
  REQUEST_HEADER_BYTES,
  REQUEST_PREFIX_BYTES,
  RESPONSE_HEADER_BYTES,
  RESPONSE_PREFIX_BYTES,
  decodeRequestHeader,
  responseCorrelationId,
  writeRequestPrefix,
  writeResponsePrefix,
} from '../../protocol/message-header.js';
import { decodeResponse, encodeRequestFrame, encodeResponseFrame } from '../../protocol/messages.js';

describe('request/response header codec', () => {
  it('writes the documented bytes: size, apiKey, apiVersion, correlationId', () => {
    const out = Buffer.alloc(REQUEST_PREFIX_BYTES);
    writeRequestPrefix(out, { apiKey: 0x0102, apiVersion: 3, correlationId: 0xfffffffe }, 5);
    expect(out.toString('hex')).toBe('0000000d' + '0102' + '0003' + 'fffffffe');
    const res = Buffer.alloc(RESPONSE_PREFIX_BYTES);
    writeResponsePrefix(res, 7, 2);
    expect(res.toString('hex')).toBe('00000006' + '00000007');
  });

  it('round-trips through a frame decoder, as the broker and client read them', () => {
    const request = encodeRequestFrame(18, 2, 0x7fffffff, { a: 1 });
    const [body] = new FrameDecoder(1024).push(request);
    expect(decodeRequestHeader(body!)).toEqual({ apiKey: 18, apiVersion: 2, correlationId: 0x7fffffff });
    const response = encodeResponseFrame(0x80000001, { ok: true });
    const [rbody] = new FrameDecoder(1024).push(response);
    expect(responseCorrelationId(rbody!)).toBe(0x80000001);
    expect(decodeResponse(rbody!)).toEqual({ correlationId: 0x80000001, payload: { ok: true } });
  });

  it('refuses a body shorter than its header with INVALID_REQUEST', () => {
    expect(() => decodeRequestHeader(Buffer.alloc(REQUEST_HEADER_BYTES - 1))).toThrow(expect.objectContaining({ errorName: 'INVALID_REQUEST' }));
    expect(() => responseCorrelationId(Buffer.alloc(RESPONSE_HEADER_BYTES - 1))).toThrow(expect.objectContaining({ errorName: 'INVALID_REQUEST' }));
  });
});
