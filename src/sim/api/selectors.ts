import type { LabelSelector, Labels } from '../model.js';

/** A parsed label selector requirement. */
interface LabelRequirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

/** A compiled selector: a predicate plus the canonical text for error messages. */
export interface Matcher<T> {
  readonly text: string;
  matches(value: T): boolean;
}

/** Thrown for a selector the API server would reject; the message matches upstream's wording closely. */
export class SelectorError extends Error {}

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses a label selector string (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) as the API server does. */
export function parseLabelSelector(text: string): Matcher<Labels | undefined> {
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const s = text;
  const skipSpace = (): void => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readWord = (): string => {
    skipSpace();
    const start = i;
    while (i < s.length && !' ,=!()'.includes(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipSpace();
    if (i >= s.length) break;
    let isNegated = false;
    if (s[i] === '!') {
      isNegated = true;
      i++;
    }
    const key = readWord();
    if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}"`);
    skipSpace();
    if (isNegated) {
      requirements.push({ key, op: 'notexists', values: [] });
    } else if (i >= s.length || s[i] === ',') {
      requirements.push({ key, op: 'exists', values: [] });
    } else if (s.startsWith('==', i) || s[i] === '=' || s.startsWith('!=', i)) {
      const op = s.startsWith('!=', i) ? 'neq' : 'eq';
      i += s.startsWith('==', i) || s.startsWith('!=', i) ? 2 : 1;
      const value = readWord();
      if (!VALUE.test(value))
        throw new SelectorError(`unable to parse requirement: invalid label value: "${value}"`);
      requirements.push({ key, op, values: [value] });
    } else {
      const word = readWord();
      if (word !== 'in' && word !== 'notin') {
        throw new SelectorError(
          `unable to parse requirement: found '${word}', expected: in, notin, =, ==, !=`,
        );
      }
      skipSpace();
      if (s[i] !== '(')
        throw new SelectorError(`unable to parse requirement: found '${s[i] ?? ''}', expected: '('`);
      i++;
      const values: string[] = [];
      for (;;) {
        const value = readWord();
        if (!VALUE.test(value))
          throw new SelectorError(`unable to parse requirement: invalid label value: "${value}"`);
        values.push(value);
        skipSpace();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ')') {
          i++;
          break;
        }
        throw new SelectorError(`unable to parse requirement: found '${s[i] ?? ''}', expected: ',', ')'`);
      }
      requirements.push({ key, op: word, values });
    }
    skipSpace();
    if (i < s.length) {
      if (s[i] !== ',')
        throw new SelectorError(`unable to parse requirement: found '${s[i]}', expected: ','`);
      i++;
    }
  }
  return {
    text,
    matches: (labels) => requirements.every((r) => matchesRequirement(r, labels)),
  };
}

function matchesRequirement(r: LabelRequirement, labels: Labels | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
      return has && value === r.values[0];
    case 'neq':
      return !has || value !== r.values[0];
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

/** Whether `labels` match a `LabelSelector` object as found in workload specs. */
export function matchesLabelSelector(selector: LabelSelector, labels: Labels | undefined): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, e.key);
    const value = labels?.[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Renders a `LabelSelector` as selector text (`app=web,tier in (a,b)`), as kubectl's wide columns show it. */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '<none>';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length > 0 ? parts.join(',') : '<none>';
}

/** Reads one field of an object for field selectors; `undefined` when the object does not support it. */
export type FieldGetter = (object: unknown, field: string) => string | undefined;

interface FieldRequirement {
  field: string;
  isNegated: boolean;
  value: string;
}

/**
 * Parses a field selector (`a=b,c!=d`, with `\,` `\=` `\\` escapes) and checks every field against the
 * fields `supported` for the resource, as the API server does: an unsupported field is a 400.
 */
export function parseFieldSelector(
  text: string,
  supported: readonly string[],
  resource: string,
  get: FieldGetter,
): Matcher<unknown> {
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    if (term.trim() === '') continue;
    const match = /^(.*?)(==|!=|=)(.*)$/s.exec(term);
    if (!match) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = match[1]!.trim();
    if (!supported.includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    requirements.push({ field, isNegated: match[2] === '!=', value: unescape(match[3]!) });
  }
  void resource;
  return {
    text,
    matches: (object) =>
      requirements.every((r) => {
        const actual = get(object, r.field) ?? '';
        return r.isNegated ? actual !== r.value : actual === r.value;
      }),
  };
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1]!;
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
