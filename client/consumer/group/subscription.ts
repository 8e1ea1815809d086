/**
 * What a group consumer subscribes to, as ConsumerGroupHeartbeat carries it: a list of topic
 * names and/or one regex (the coordinator matches it against the whole topic name). Several
 * RegExps given to subscribe() become one alternation, `(?:a)|(?:b)`.
 *
 * The coordinator evaluates the regex (an RE2-like safe subset of JS syntax, docs/OPERATIONS.md),
 * so only the pattern travels: flags cannot, and a RegExp with flags is refused here rather
 * than silently matched differently.
 */
import { validateTopicName } from '../../../protocol/topic-name.js';
import type { SubscribeOptions, SubscriptionTopics } from '../../types.js';

/** Kafka's limit on a topic name. */

export interface Subscription {
  /** Sorted, without duplicates; may be empty when a regex is given. */
  names: string[];
  /** The pattern source, or null. */
  regex: string | null;
  /** From subscribe({ fromBeginning }); undefined = the consumer's setting. */
  fromBeginning: boolean | undefined;
}

export function parseSubscription(input: SubscriptionTopics | SubscribeOptions): Subscription {
  let topics: SubscriptionTopics;
  let fromBeginning: boolean | undefined;
  if (isOptions(input)) {
    topics = input.topics;
    if (input.fromBeginning !== undefined && typeof input.fromBeginning !== 'boolean') throw new TypeError('fromBeginning must be a boolean');
    fromBeginning = input.fromBeginning;
  } else {
    topics = input;
  }
  const list = Array.isArray(topics) ? topics : [topics];
  const names = new Set<string>();
  const patterns: string[] = [];
  for (const t of list) {
    if (typeof t === 'string') {
      const problem = validateTopicName(t);
      if (problem !== null) throw new RangeError(`subscribe(): ${problem}`);
      names.add(t);
    } else if (t instanceof RegExp) {
      if (t.flags !== '') {
        throw new RangeError(`subscribe() takes RegExps without flags (the coordinator matches the pattern itself); got /${t.source}/${t.flags}`);
      }
      patterns.push(t.source);
    } else {
      throw new TypeError('subscribe() takes topic names (strings) and RegExps');
    }
  }
  if (names.size === 0 && patterns.length === 0) throw new RangeError('subscribe() needs at least one topic or RegExp');
  const regex = patterns.length === 0 ? null : patterns.length === 1 ? patterns[0]! : patterns.map((p) => `(?:${p})`).join('|');
  return { names: [...names].sort(), regex, fromBeginning };
}

function isOptions(input: SubscriptionTopics | SubscribeOptions): input is SubscribeOptions {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && !(input instanceof RegExp);
}
