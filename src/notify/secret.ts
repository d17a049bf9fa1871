import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';

/**
 * A secret value from the configuration (a webhook URL, routing key, API key, password or HMAC key). It
 * prints as `<secret>` everywhere (`String`, template literals, `JSON.stringify`, `util.inspect`, so
 * logs, API answers and stored rows cannot carry it by accident); only `reveal()` gives the value, at the
 * moment a request is made. Every revealed value is registered for `redact`, which scrubs error texts
 * (a network error can quote the URL it failed on) before they are logged or stored.
 */
export class Secret {
  readonly #value: string;

  constructor(
    value: string,
    /** Where it came from, for messages: `inline`, `file /path` or `env NAME` (never the value). */
    readonly source: string,
  ) {
    this.#value = value;
    registerSecret(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '<secret>';
  }

  toJSON(): string {
    return '<secret>';
  }

  [inspect.custom](): string {
    return '<secret>';
  }
}

const known = new Set<string>();

/** Remembers a secret value so that `redact` removes it (values shorter than 4 characters are not kept). */
export function registerSecret(value: string): void {
  if (value.length < 4) return;
  known.add(value);
  // The same value as it appears inside URLs and JSON.
  known.add(encodeURIComponent(value));
  known.add(JSON.stringify(value).slice(1, -1));
}

/**
 * Registers the parts of a secret URL that an answer could quote without the rest (its path, query values,
 * token-like path segments), so that `redact` removes them too.
 */
export function registerUrlParts(url: Secret): void {
  let u: URL;
  try {
    u = new URL(url.reveal());
  } catch {
    return;
  }
  const parts = [`${u.pathname}${u.search}`, u.pathname, u.search, u.username, u.password];
  for (const segment of u.pathname.split('/'))
    if (segment.length >= 16 || (segment.length >= 8 && /\d/.test(segment))) parts.push(segment);
  for (const value of u.searchParams.values()) parts.push(value);
  for (const part of parts) if (part.length >= 8) registerSecret(part);
}

/** Replaces every known secret value in `text` with `<secret>` (longest first, so parts do not leak). */
export function redact(text: string): string {
  if (known.size === 0 || text === '') return text;
  let out = text;
  for (const value of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(value)) out = out.split(value).join('<secret>');
  }
  return out;
}

/**
 * How a secret is written in the configuration: the value itself, `{ file: PATH }` (read when the
 * configuration is loaded or reloaded; surrounding whitespace trimmed) or `{ env: NAME }`.
 */
export const secretSchema = z.union([
  z.string().min(1, 'must not be empty'),
  z.object({ file: z.string().min(1) }).strict(),
  z
    .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') })
    .strict(),
]);

export type SecretSpec = z.infer<typeof secretSchema>;

/** A problem resolving a secret; the message never holds the value. */
export class SecretError extends Error {}

/** Reads a secret spec into a Secret; throws SecretError naming the file or variable when it cannot. */
export function resolveSecret(spec: SecretSpec, env: NodeJS.ProcessEnv = process.env): Secret {
  if (typeof spec === 'string') return new Secret(spec, 'inline');
  if ('file' in spec) {
    let text: string;
    try {
      text = readFileSync(spec.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new SecretError(
        `cannot read secret file ${spec.file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error')}`,
      );
    }
    const value = text.trim();
    if (value === '') throw new SecretError(`secret file ${spec.file} is empty`);
    return new Secret(value, `file ${spec.file}`);
  }
  const value = env[spec.env]?.trim();
  if (value === undefined || value === '')
    throw new SecretError(`environment variable ${spec.env} is not set or empty`);
  return new Secret(value, `env ${spec.env}`);
}

/**
 * A configuration field holding a secret: validated and resolved (file read, variable looked up) while
 * the configuration is parsed, so a missing file is an error naming the field, and the parsed config holds
 * a Secret.
 */
export const secretField = secretSchema.transform((spec, ctx): Secret => {
  try {
    return resolveSecret(spec);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});

/** A secret field that must be an http(s) URL. */
export const secretUrlField = secretField.superRefine((secret, ctx) => {
  let url: URL;
  try {
    url = new URL(secret.reveal());
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `must be an http(s) URL (from ${secret.source}; value not shown)`,
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    ctx.addIssue({
      code: 'custom',
      message: `must be an http(s) URL, not ${url.protocol} (from ${secret.source})`,
    });
});
