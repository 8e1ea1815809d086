/**
 * Regex subscriptions (`subscribedTopicRegex`), resolved by the coordinator against the
 * current non-internal topics. Kafka evaluates them with RE2, which cannot backtrack
 * exponentially; rill uses JS RegExp restricted to an RE2-like safe subset instead:
 *
 *  - at most MAX_TOPIC_REGEX_LENGTH characters;
 *  - no backreferences (`\1`, `\k<name>`) and no lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`),
 *    which RE2 does not have either;
 *  - no repeated group (`(...)*`, `(...)+`, `(...){n,}`) that itself contains a quantifier or
 *    an alternation, the shapes that backtrack exponentially (`(a+)+`, `(a|a)*`).
 *
 * The pattern must match the whole topic name (RE2's `matches()`, as Kafka): `orders\..*`
 * matches `orders.eu` but not `old-orders.eu`.
 */
import { rillError } from '../../protocol/errors.js';

export const MAX_TOPIC_REGEX_LENGTH = 1024;

interface GroupFrame {
  hasQuantifier: boolean;
  hasAlternation: boolean;
}

function refuse(source: string, why: string): never {
  throw rillError('INVALID_REQUEST', `subscribedTopicRegex '${source.slice(0, 100)}' is refused: ${why}`);
}

/** Length of a `{n}`, `{n,}` or `{n,m}` quantifier at `pos`, and whether it repeats unboundedly or more than once. */
function braceQuantifier(src: string, pos: number): { length: number; repeats: boolean } | null {
  const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(pos));
  if (m === null) return null;
  const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
  return { length: m[0].length, repeats: max > 1 };
}

/** Throws INVALID_REQUEST unless `source` is within the safe subset; returns the full-match RegExp. */
export function compileTopicRegex(source: string): RegExp {
  if (source.length > MAX_TOPIC_REGEX_LENGTH) refuse(source, `longer than ${MAX_TOPIC_REGEX_LENGTH} characters`);
  const stack: GroupFrame[] = [{ hasQuantifier: false, hasAlternation: false }];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') refuse(source, 'backreferences are not supported');
      i += 2;
      continue;
    }
    if (c === '[') {
      // Skip a character class: its contents are literals, including '(' and '*'.
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '(') {
      if (source.startsWith('(?=', i) || source.startsWith('(?!', i) || source.startsWith('(?<=', i) || source.startsWith('(?<!', i)) {
        refuse(source, 'lookaround is not supported');
      }
      stack.push({ hasQuantifier: false, hasAlternation: false });
      i++;
      continue;
    }
    if (c === ')') {
      const frame = stack.length > 1 ? stack.pop()! : refuse(source, 'unbalanced parenthesis');
      i++;
      let repeats = false;
      let quantified = false;
      if (source[i] === '*' || source[i] === '+') {
        repeats = quantified = true;
        i++;
      } else if (source[i] === '?') {
        quantified = true;
        i++;
      } else if (source[i] === '{') {
        const q = braceQuantifier(source, i);
        if (q !== null) {
          repeats = q.repeats;
          quantified = true;
          i += q.length;
        }
      }
      if (quantified && source[i] === '?') i++; // lazy modifier
      if (repeats && (frame.hasQuantifier || frame.hasAlternation)) {
        refuse(source, 'a repeated group containing a quantifier or an alternation can backtrack exponentially');
      }
      const parent = stack[stack.length - 1]!;
      parent.hasQuantifier ||= frame.hasQuantifier || quantified;
      parent.hasAlternation ||= frame.hasAlternation;
      continue;
    }
    if (c === '|') {
      stack[stack.length - 1]!.hasAlternation = true;
      i++;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      stack[stack.length - 1]!.hasQuantifier = true;
      i++;
      if (source[i] === '?') i++;
      continue;
    }
    if (c === '{') {
      const q = braceQuantifier(source, i);
      if (q !== null) {
        stack[stack.length - 1]!.hasQuantifier = true;
        i += q.length;
        continue;
      }
    }
    i++;
  }
  if (stack.length !== 1) refuse(source, 'unbalanced parenthesis');
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    return refuse(source, (err as Error).message);
  }
}
