import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_CONFIG, BROKER_CONFIG_KEYS, coerceBrokerConfig, logDefaultsOf, resolveBrokerConfig } from '../../broker/config.js';
import { brokerProcessConfig } from '../../broker/process.js';
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('broker config', () => {
  it('has the documented defaults', () => {
    const c = resolveBrokerConfig({});
    expect(c).toMatchObject({
      'node.id': 0,
      host: '127.0.0.1',
      port: 9292,
      'metrics.port': null,
      'auto.create.topics.enable': true,
      'num.partitions': 3,
      'socket.request.max.bytes': 100 * 1024 * 1024,
      'max.connections': 1000,
      'connections.max.idle.ms': 600000,
      'group.consumer.session.timeout.ms': 45000,
      'group.consumer.heartbeat.interval.ms': 3000,
      'offsets.topic.num.partitions': 10,
      'log.retention.ms': 7 * 24 * 3600 * 1000,
      'log.segment.bytes': 1024 * 1024 * 1024,
    });
    expect(logDefaultsOf(c)).toEqual(DEFAULT_LOG_CONFIG);
    // Every key has a default and a doc line.
    for (const key of Object.keys(BROKER_CONFIG_KEYS)) {
      expect(DEFAULT_BROKER_CONFIG).toHaveProperty([key]);
      expect(BROKER_CONFIG_KEYS[key as keyof typeof BROKER_CONFIG_KEYS].doc.length).toBeGreaterThan(10);
    }
  });

  it('maps the broker-level log.* keys onto the topic LogConfig', () => {
    const c = resolveBrokerConfig(coerceBrokerConfig({ 'log.retention.ms': '1000', 'log.segment.bytes': 65536, 'message.max.bytes': '2048', 'log.cleanup.policy': 'compact', 'log.flush.interval.messages': 1, 'log.message.timestamp.type': 'LogAppendTime' }));
    expect(logDefaultsOf(c)).toMatchObject({ retentionMs: 1000, segmentBytes: 65536, maxMessageBytes: 2048, cleanupPolicy: 'compact', flushMessages: 1, messageTimestampType: 'LogAppendTime' });
  });

  it('coerces strings and refuses unknown keys, wrong types and out-of-range values, naming the key', () => {
    expect(coerceBrokerConfig({ port: '0', 'auto.create.topics.enable': 'false', 'metrics.port': 'null', 'log.flush.interval.messages': '9223372036854775807' })).toEqual({
      port: 0,
      'auto.create.topics.enable': false,
      'metrics.port': null,
      'log.flush.interval.messages': Number.MAX_SAFE_INTEGER,
    });
    expect(() => coerceBrokerConfig({ 'num.partition': 3 })).toThrow(/num.partition: unknown broker config/);
    expect(() => coerceBrokerConfig({ port: 'eighty' })).toThrow(/port: expected an integer/);
    expect(() => coerceBrokerConfig({ port: 70000 })).toThrow(/port: expected an integer in \[0, 65535\]/);
    expect(() => coerceBrokerConfig({ 'num.partitions': 0 })).toThrow(/num.partitions/);
    expect(() => coerceBrokerConfig({ 'auto.create.topics.enable': 'yes' })).toThrow(/auto.create.topics.enable: expected true or false/);
    expect(() => coerceBrokerConfig({ host: null })).toThrow(/host: must not be null/);
    expect(() => resolveBrokerConfig({ 'log.retention.ms': -5 })).toThrow(/log.retention.ms: expected an integer >= -1/);
    expect(() => resolveBrokerConfig({ 'log.cleanup.policy': 'shred' })).toThrow(/log.cleanup.policy/);
    expect(() => resolveBrokerConfig({ 'group.consumer.heartbeat.interval.ms': 50_000 })).toThrow(/heartbeat.interval.ms/);
  });

  it('every key is documented in docs/OPERATIONS.md, "## Broker"', async () => {
    const doc = await readFile(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
    const start = doc.indexOf('\n## Broker');
    expect(start).toBeGreaterThan(-1);
    const next = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, next < 0 ? undefined : next);
    for (const key of Object.keys(BROKER_CONFIG_KEYS)) expect(section, key).toContain(`| \`${key}\` |`);
  });

  it('loads a JSON file and lets command-line values override it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rill-config-'));
    dirs.push(dir);
    const file = join(dir, 'broker.json');
    await writeFile(file, JSON.stringify({ port: 9999, 'num.partitions': 6, 'log.retention.ms': '3600000', 'data.dir': '/from/file' }));
    const merged = await brokerProcessConfig({ configFile: file, port: '0', dataDir: join(dir, 'data') });
    expect(merged).toMatchObject({ port: 0, 'num.partitions': 6, 'log.retention.ms': 3600000, dataDir: join(dir, 'data') });
    const fileOnly = await brokerProcessConfig({ configFile: file });
    expect(fileOnly.dataDir).toBe('/from/file');

    await writeFile(file, '{"port": 1, "typo.key": 2}');
    await expect(brokerProcessConfig({ configFile: file })).rejects.toThrow(/broker.json: typo.key: unknown broker config/);
    await writeFile(file, '{not json');
    await expect(brokerProcessConfig({ configFile: file })).rejects.toThrow(/not valid JSON/);
    await expect(brokerProcessConfig({ configFile: join(dir, 'absent.json') })).rejects.toThrow(/cannot read the config file/);
  });
});
