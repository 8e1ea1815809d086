import { describe, expect, it } from 'vitest';
import { RillError } from '../../protocol/errors.js';
import { DEFAULT_LOG_CONFIG, LOG_CONFIG_KEYS, logConfigToStrings, parseLogConfig } from '../../storage/log-config.js';

describe('log config', () => {
  it("has Kafka's defaults and a table entry for every field", () => {
    expect(DEFAULT_LOG_CONFIG).toMatchObject({
      segmentBytes: 1073741824, segmentMs: 604800000, retentionMs: 604800000, retentionBytes: -1, cleanupPolicy: 'delete',
      deleteRetentionMs: 86400000, minCompactionLagMs: 0, maxMessageBytes: 1048588, indexIntervalBytes: 4096,
      flushMessages: Number.MAX_SAFE_INTEGER, flushMs: Number.MAX_SAFE_INTEGER, messageTimestampType: 'CreateTime',
    });
    expect(LOG_CONFIG_KEYS.map((k) => k.key).sort()).toEqual(Object.keys(DEFAULT_LOG_CONFIG).sort());
  });

  it('round-trips through the wire strings and clamps Long.MAX', () => {
    const cfg = parseLogConfig({ 'retention.ms': '-1', 'cleanup.policy': 'delete,compact', 'flush.messages': '9223372036854775807', 'message.timestamp.type': 'LogAppendTime' });
    expect(cfg.retentionMs).toBe(-1);
    expect(cfg.cleanupPolicy).toBe('compact,delete');
    expect(cfg.flushMessages).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseLogConfig(logConfigToStrings(cfg))).toEqual(cfg);
  });

  it('names the key, what it expects and what it got', () => {
    const bad = (o: Record<string, string>): string => {
      try {
        parseLogConfig(o);
      } catch (err) {
        expect(err).toBeInstanceOf(RillError);
        expect((err as RillError).errorName).toBe('INVALID_CONFIG');
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ 'retention.ms': 'abc' })).toBe("retention.ms: expected an integer >= -1, got 'abc'");
    expect(bad({ 'segment.bytes': '10' })).toMatch(/^segment.bytes: expected an integer in \[14, 2147483647\]/);
    expect(bad({ 'flush.messages': '0' })).toMatch(/^flush.messages/);
    expect(bad({ 'cleanup.policy': 'delete,delete' })).toMatch(/^cleanup.policy/);
    expect(bad({ 'message.timestamp.type': 'Now' })).toMatch(/one of CreateTime, LogAppendTime/);
    expect(bad({ 'no.such.key': '1' })).toBe('no.such.key: unknown log config');
  });
});
