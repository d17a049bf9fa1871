import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readToken } from '../token.js';
import { Command, Option } from 'commander';
import { parseDuration } from '../../config/config.js';
import { HealwatchError } from '../../domain/index.js';
import { parseMatcher } from '../../notify/labels.js';
import {
  parseSilenceRequest,
  parseSilenceTime,
  silenceJson,
  silenceState,
  SILENCE_STATES,
  type SilenceJson,
  type SilenceState,
} from '../../notify/silences.js';
import { Store, STORE_FILE_NAME } from '../../store/index.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';
const DEFAULT_DURATION = '1h';
const TIMEOUT_MS = 10_000;

/** Where the silences are: a running `healwatch run` (its API), or its store file directly. */
type Target = { kind: 'api'; url: string; token: string | undefined } | { kind: 'data'; dir: string };

interface TargetFlags {
  url?: string;
  tokenFile?: string;
  data?: string;
}

interface AddFlags extends TargetFlags {
  duration?: string;
  until?: string;
  start?: string;
  author?: string;
  comment?: string;
  output: 'table' | 'json';
}

interface ListFlags extends TargetFlags {
  state: SilenceState | 'all';
  output: 'table' | 'json';
}

interface ExpireFlags extends TargetFlags {
  output: 'table' | 'json';
}

const usage = (message: string): HealwatchError => new HealwatchError('HW_ERR_USAGE', message);
/** A failure that is not the caller's usage (exit 1). */
const failure = (message: string): HealwatchError => new HealwatchError('HW_ERR_USAGE', message, 1);

function resolveTarget(flags: TargetFlags): Target {
  if (flags.data !== undefined) {
    if (flags.url !== undefined || flags.tokenFile !== undefined)
      throw usage('give either --data DIR (the store file) or --url/--token-file (a running API), not both');
    return { kind: 'data', dir: flags.data };
  }
  const url = (flags.url ?? process.env.HEALWATCH_URL?.trim()) || DEFAULT_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw usage(`--url must be a URL such as ${DEFAULT_URL}, got "${url}"`);
  return { kind: 'api', url: url.replace(/\/+$/, ''), token: readToken(flags.tokenFile) };
}

/** Opens the store of a `--data` directory, which must exist (a typo must not create an empty one). */
function openStore(dir: string): Store {
  const file = join(dir, STORE_FILE_NAME);
  if (!existsSync(file))
    throw new HealwatchError(
      'HW_ERR_STORE',
      `--data ${dir}: no Healwatch database there (${file} does not exist); pass the directory "healwatch run --data" uses`,
    );
  return Store.open(file);
}

function withStore<T>(dir: string, fn: (store: Store) => T): T {
  const store = openStore(dir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function errorOf(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = body.error;
    if (typeof e === 'string') return e;
  }
  return undefined;
}

/** One request to the API; answers the parsed JSON of a 2xx, throws a HealwatchError for the rest. */
async function call(
  target: Extract<Target, { kind: 'api' }>,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = new URL(path.replace(/^\/+/, ''), `${target.url}/`);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw failure(
      `cannot reach the Healwatch API at ${target.url}: ${why} (is "healwatch run" running there? pass --url URL or set HEALWATCH_URL, or --data DIR to use its store directly)`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) {
    if (json === undefined)
      throw failure(
        `${target.url} answered ${method} ${url.pathname} with something that is not JSON: is it the Healwatch API?`,
      );
    return json;
  }
  const message = errorOf(json);
  if (message === undefined)
    throw failure(
      `${target.url} answered ${method} ${url.pathname} with HTTP ${res.status}: is it the Healwatch API${res.status === 404 ? ' (a version with silences)' : ''}?`,
    );
  switch (res.status) {
    case 400:
      throw usage(`the API refused the request: ${message}`);
    case 401:
      throw usage(
        target.token === undefined
          ? `the API at ${target.url} requires a bearer token: pass --token-file FILE or set HEALWATCH_TOKEN`
          : `the API at ${target.url} rejected the token (${message}): check --token-file or HEALWATCH_TOKEN`,
      );
    case 503:
      throw failure(`${message} (or pass --data DIR to work on its store directly)`);
    default:
      throw failure(`the API at ${target.url} answered HTTP ${res.status}: ${message}`);
  }
}

/** `2026-01-31T12:00:00Z` (no milliseconds) from an ISO time. */
function shortTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

/** The table of silences: ID, STATE, MATCHERS, STARTS, ENDS (when it expired early, if it did), AUTHOR, COMMENT. */
export function renderSilences(silences: readonly SilenceJson[]): string {
  const rows = silences.map((s) => {
    const ends = s.expiredAt !== null && s.expiredAt < s.endsAt ? s.expiredAt : s.endsAt;
    return [
      String(s.id),
      s.state,
      s.matchersText.join(' '),
      shortTime(s.startsAt),
      shortTime(ends),
      s.author,
      s.comment.replace(/\s+/g, ' '),
    ];
  });
  const header = ['ID', 'STATE', 'MATCHERS', 'STARTS', 'ENDS', 'AUTHOR', 'COMMENT'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function print(silences: readonly SilenceJson[], output: 'table' | 'json', single: boolean): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(single ? silences[0] : silences, null, 2)}\n`);
    return;
  }
  process.stdout.write(renderSilences(silences));
}

function targetOptions(command: Command): Command {
  return command
    .option('--url <url>', `URL of a running "healwatch run" API (default: $HEALWATCH_URL or ${DEFAULT_URL})`)
    .option(
      '--token-file <file>',
      'file holding the API bearer token (default: $HEALWATCH_TOKEN); never printed',
    )
    .option(
      '--data <dir>',
      'work on the store in DIR (the "healwatch run --data" directory) instead of the API; works while the service is down',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    );
}

function addCommand(): Command {
  return targetOptions(
    new Command('add')
      .description('silence the notifications of the alerts whose labels match every MATCHER')
      .argument(
        '<matcher...>',
        'label=value, label!=value, label=~regex or label!~regex (regexes match the whole value)',
      )
      .option(
        '--duration <duration>',
        `how long, e.g. 30m, 2h, 1d (default: ${DEFAULT_DURATION} unless --until)`,
      )
      .option('--until <time>', 'when it ends: ISO 8601 (e.g. 2026-01-31T18:00:00Z) or epoch ms')
      .option('--start <time>', 'when it starts (default: now): ISO 8601 or epoch ms')
      .option('--author <name>', 'who silences (default: $USER, or "unknown")')
      .option('--comment <text>', 'why'),
  ).action(async (matchers: string[], flags: AddFlags) => {
    for (const m of matchers) {
      try {
        parseMatcher(m);
      } catch (error) {
        throw usage(`invalid matcher: ${(error as Error).message}`);
      }
    }
    if (flags.duration !== undefined && flags.until !== undefined)
      throw usage('give either --duration or --until, not both');
    const duration = flags.until === undefined ? (flags.duration ?? DEFAULT_DURATION) : undefined;
    if (duration !== undefined) {
      try {
        if (!(parseDuration(duration) > 0)) throw new RangeError('it must be longer than 0');
      } catch (error) {
        throw usage(`--duration ${duration}: ${(error as Error).message}`);
      }
    }
    const local = (value: string | undefined, option: string): number | undefined => {
      if (value === undefined) return undefined;
      try {
        return parseSilenceTime(value, option);
      } catch (error) {
        throw usage((error as Error).message.replace(/^(--\w+):/, `$1 ${value}:`));
      }
    };
    const start = local(flags.start, '--start');
    const until = local(flags.until, '--until');
    if (start !== undefined && until !== undefined && until <= start)
      throw usage('--until must be after --start');
    const body = {
      matchers,
      author: flags.author ?? (process.env.USER?.trim() || 'unknown'),
      ...(flags.start !== undefined ? { startsAt: flags.start } : {}),
      ...(flags.until !== undefined ? { endsAt: flags.until } : {}),
      ...(duration !== undefined ? { duration } : {}),
      ...(flags.comment !== undefined ? { comment: flags.comment } : {}),
    };
    const target = resolveTarget(flags);
    let created: SilenceJson;
    if (target.kind === 'api') {
      created = (await call(target, 'POST', '/api/v1/silences', body)) as SilenceJson;
    } else {
      const now = Date.now();
      let input;
      try {
        input = parseSilenceRequest(body, now);
      } catch (error) {
        throw usage(`invalid silence: ${(error as Error).message}`);
      }
      created = withStore(target.dir, (store) => silenceJson(store.addSilence(input), now));
    }
    print([created], flags.output, true);
  });
}

function listCommand(): Command {
  return targetOptions(
    new Command('list')
      .description('list silences, newest first')
      .addOption(
        new Option('--state <state>', 'which silences').choices([...SILENCE_STATES, 'all']).default('all'),
      ),
  ).action(async (flags: ListFlags) => {
    const target = resolveTarget(flags);
    let silences: SilenceJson[];
    if (target.kind === 'api') {
      silences = [];
      for (let offset = 0; ;) {
        const page = (await call(
          target,
          'GET',
          `/api/v1/silences?state=${flags.state}&limit=1000&offset=${offset}`,
        )) as { total: number; items: SilenceJson[] };
        silences.push(...page.items);
        offset += page.items.length;
        if (page.items.length === 0 || offset >= page.total) break;
      }
    } else {
      const now = Date.now();
      silences = withStore(target.dir, (store) =>
        store
          .listSilences()
          .filter((s) => flags.state === 'all' || silenceState(s, now) === flags.state)
          .map((s) => silenceJson(s, now)),
      );
    }
    if (flags.output === 'table' && silences.length === 0) {
      process.stdout.write(`no silences${flags.state === 'all' ? '' : ` (${flags.state})`}\n`);
      return;
    }
    print(silences, flags.output, false);
  });
}

function expireCommand(): Command {
  return targetOptions(
    new Command('expire')
      .description('end a silence now')
      .argument('<id>', 'the silence ID (see "healwatch silence list")'),
  ).action(async (idText: string, flags: ExpireFlags) => {
    if (!/^[1-9]\d{0,14}$/.test(idText))
      throw usage(`silence ID must be a positive integer, got "${idText}"`);
    const id = Number(idText);
    const target = resolveTarget(flags);
    let expired: SilenceJson;
    if (target.kind === 'api') {
      expired = (await call(target, 'DELETE', `/api/v1/silences/${id}`)) as SilenceJson;
    } else {
      const now = Date.now();
      expired = withStore(target.dir, (store) => {
        const s = store.getSilence(id);
        if (!s) throw failure(`no silence with id ${id} in ${store.file}`);
        if (silenceState(s, now) === 'expired' || !store.expireSilence(id, now)) {
          const at = Math.min(s.endsAt, s.expiredAt ?? Number.POSITIVE_INFINITY);
          throw failure(`silence ${id} already expired at ${new Date(at).toISOString()}`);
        }
        return silenceJson(store.getSilence(id) ?? s, now);
      });
    }
    print([expired], flags.output, true);
  });
}

/** `healwatch silence add|list|expire`: silences on a running `healwatch run` (its API) or its store. */
export function silenceCommand(): Command {
  return new Command('silence')
    .description('silence notifications: add, list and expire silences of a running "healwatch run"')
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(expireCommand())
    .addHelpText(
      'after',
      [
        '',
        'A silence stops the notifications of the alerts whose labels match all its matchers, for a time;',
        'the alerts are still tracked and shown. Labels: rule, level, namespace, kind, name, object, key,',
        'cluster, and the facts of the finding (node, component, ...).',
        '',
        'The commands talk to a running "healwatch run" over its API (--url, default $HEALWATCH_URL or',
        `${DEFAULT_URL}; --token-file, default $HEALWATCH_TOKEN); a service without --data keeps them in`,
        'memory until it stops. With --data DIR they work on that store file directly instead, even while',
        'the service is down.',
        '',
        'Examples:',
        '  healwatch silence add namespace=shop rule=crashloop --duration 2h --comment "load test"',
        "  healwatch silence add 'name=~cart-.*' --until 2026-01-31T18:00:00Z --author alice",
        '  healwatch silence list --state active',
        '  healwatch silence list -o json --url http://healwatch.example:8080 --token-file ~/.healwatch-token',
        '  healwatch silence expire 3',
        '  healwatch silence list --data /var/lib/healwatch',
        '',
        'Exit codes: 0 done; 1 failure (API unreachable, no such silence, already expired, store error);',
        '2 usage errors (bad matcher, duration or time, a refused request, a missing or wrong token).',
      ].join('\n'),
    );
}
