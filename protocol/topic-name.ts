/**
 * The one topic-name rule, Kafka's: 1 to 249 characters of [a-zA-Z0-9._-], and not '.' or
 * '..' (they would name the data directory's parent). The broker answers a name that breaks it
 * with INVALID_TOPIC_EXCEPTION per topic; the client checks with the same function before
 * sending. Request schemas accept any (bounded) string as a topic name on purpose: a bad name
 * is a per-topic error, not a malformed request.
 */

export const TOPIC_NAME_MAX_LENGTH = 249;
const LEGAL_CHARS_RE = /^[a-zA-Z0-9._-]+$/;
/** Longest part of a bad name quoted back in a message. */
const QUOTED_NAME_MAX_LENGTH = 60;

/** null when `name` is a legal topic name, otherwise why not (one sentence, for errorMessage). */
export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty';
  if (name.length > TOPIC_NAME_MAX_LENGTH) {
    return `Topic name '${name.slice(0, QUOTED_NAME_MAX_LENGTH)}...' is ${name.length} characters long; the maximum is ${TOPIC_NAME_MAX_LENGTH}`;
  }
  if (name === '.' || name === '..') return `Topic name '${name}' is not allowed`;
  if (!LEGAL_CHARS_RE.test(name)) return `Topic name '${name}' is invalid: use only ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

export function isValidTopicName(name: string): boolean {
  return validateTopicName(name) === null;
}
