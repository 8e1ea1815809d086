/** `rill broker start --config FILE`: a JSON file of broker config keys, typed and checked. */
import { readFile } from 'node:fs/promises';
import { rillError } from '../protocol/errors.js';
import { coerceBrokerConfig, type BrokerConfig } from './config.js';

/** Reads a JSON config file: one object of broker config keys. */
export async function loadBrokerConfigFile(path: string): Promise<Partial<BrokerConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw rillError('INVALID_CONFIG', `${path}: cannot read the config file (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw rillError('INVALID_CONFIG', `${path}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw rillError('INVALID_CONFIG', `${path}: expected a JSON object of broker config keys`);
  }
  try {
    return coerceBrokerConfig(parsed as Record<string, unknown>);
  } catch (err) {
    throw rillError('INVALID_CONFIG', `${path}: ${(err as Error).message}`);
  }
}
