import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { Service, type ServiceTransition } from '../../app/service.js';
import { Connection } from '../../cluster/index.js';
import { loadConfig } from '../../config/index.js';
import { HealwatchError, LEVELS, refText } from '../../domain/index.js';
import { assertSafeListen, parseListen, startServer, type HttpServer } from '../../server/index.js';
import { Store, STORE_FILE_NAME, StoreError } from '../../store/index.js';

interface RunFlags {
  kubeconfig?: string;
  context?: string;
  config?: string;
  data?: string;
  listen: string;
  tokenFile?: string;
}

const log = (line: string): void => void process.stderr.write(`healwatch run: ${line}\n`);

/** The API token: from `--token-file` (trimmed) or `HEALWATCH_TOKEN`; never printed. */
function readToken(file: string | undefined): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new HealwatchError(
        'HW_ERR_USAGE',
        `--token-file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`,
      );
    }
    const token = text.trim();
    if (token === '') throw new HealwatchError('HW_ERR_USAGE', `--token-file ${file}: the file is empty`);
    return token;
  }
  const env = process.env.HEALWATCH_TOKEN?.trim();
  return env === undefined || env === '' ? undefined : env;
}

/**
 * Creates `dir` and opens (creating and migrating) its database. Throws a StoreError naming the directory
 * or file when it cannot.
 */
function openStore(dir: string): Store {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreError(
      dir,
      `--data ${dir}: cannot create the data directory: ${code === 'EACCES' ? 'permission denied' : code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (error as Error).message}`,
    );
  }
  return Store.open(join(dir, STORE_FILE_NAME));
}

/** One stderr line per transition at Notice or above (level None is collected, never told). */
export function describeTransition(t: ServiceTransition): string | undefined {
  if (t.level === 'none' && t.previousLevel !== 'notice' && t.previousLevel !== 'alert') return undefined;
  const what = `[${t.level.toUpperCase()}] ${t.finding.title} (${t.finding.ruleId} · ${refText(t.finding.object)})`;
  switch (t.type) {
    case 'opened':
      return t.alert.state === 'firing' ? undefined : `PENDING ${what}`;
    case 'fired':
      return `FIRING ${what}`;
    case 'level-changed':
      return `${LEVELS.indexOf(t.level) > LEVELS.indexOf(t.previousLevel ?? 'none') ? 'ESCALATED' : 'DEESCALATED'} ${what} (was ${t.previousLevel ?? 'none'})`;
    case 'resolved':
      return `RESOLVED ${what}${t.note !== undefined ? ` (${t.note})` : ''}`;
    case 'dropped':
      return `CLEARED ${what} (went away before it fired)`;
  }
}

/** `healwatch run`: the long-running monitor with its HTTP API. */
export function runCommand(): Command {
  return new Command('run')
    .description(
      'watch a cluster continuously: evaluate every rule as it changes, track alerts, serve the HTTP API and /metrics',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option(
      '--config <file>',
      'healwatch.yaml (levels, thresholds, scopes, add-on namespaces); SIGHUP reloads it',
    )
    .option(
      '--data <dir>',
      'directory of the durable store (created if needed; holds healwatch.db): alerts and their history survive a restart (default: none, alerts are kept in memory only)',
    )
    .option('--listen <host:port>', 'address of the HTTP API (port 0: any free port)', '127.0.0.1:8080')
    .option(
      '--token-file <file>',
      'file holding the bearer token the API requires (default: $HEALWATCH_TOKEN); without a token the API listens on loopback only',
    )
    .addHelpText(
      'after',
      [
        '',
        'Endpoints: /healthz and /readyz (no token), /api/v1/findings, /api/v1/alerts, /api/v1/health, /metrics,',
        "and with --data /api/v1/history?fingerprint=&from=&to=&limit= (the alerts' recorded history).",
        'With --data DIR, every alert change is written to DIR/healwatch.db: after a restart, firing alerts',
        'stay firing (no second FIRING), pending ones fire when their `for` has passed since they opened, and',
        'those gone while Healwatch was down resolve (RESOLVED ... resolved while Healwatch was down).',
        'Logs go to stderr: the bound address, sync progress, one line per alert transition',
        '(PENDING, FIRING, ESCALATED, DEESCALATED, RESOLVED, or CLEARED for a pending one that went away;',
        'Notice and Alert only) and lifecycle.',
        'Signals: SIGTERM or SIGINT stop gracefully (exit 0); SIGHUP reloads --config (an invalid file',
        'is reported with its file, line and field, and the running configuration is kept).',
        'Exit codes: 0 after a graceful stop; 1 when it could not start (bad kubeconfig or config, address',
        'in use); 2 for usage errors (such as a non-loopback --listen without a token).',
      ].join('\n'),
    )
    .action(async (flags: RunFlags) => {
      const config = loadConfig(flags.config);
      const { host, port } = parseListen(flags.listen);
      const token = readToken(flags.tokenFile);
      assertSafeListen(host, token);
      // A bad kubeconfig or context fails here, before anything listens.
      const connection = Connection.load({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      let store: Store | undefined;
      if (flags.data !== undefined) {
        try {
          store = openStore(flags.data);
        } catch (error) {
          if (!(error instanceof StoreError)) throw error;
          process.stderr.write(`healwatch run: ${error.message.replace(/\s*\n\s*/g, ' ')} [${error.code}]\n`);
          process.exitCode = 1;
          return;
        }
        log(`data: ${store.file}`);
      }
      const closeStore = (): void => {
        try {
          store?.close();
        } catch (error) {
          log(`closing ${store?.file ?? 'the store'}: ${(error as Error).message}`);
        }
      };
      const service = new Service({
        connection,
        config,
        store,
        onProgress: (p) => {
          if (p.synced === p.total) log(`synced: ${p.total} kinds, ${p.objects} objects`);
        },
      });
      service.onTransition((t) => {
        const line = describeTransition(t);
        if (line) log(line);
      });
      let server: HttpServer;
      try {
        server = await startServer({ service, host, port, token, store });
      } catch (error) {
        closeStore();
        throw error;
      }
      log(`listening on ${server.url}${token ? ' (bearer token required)' : ''}`);

      let shutdown: Promise<void> | undefined;
      let resolveDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const stop = (signal: string): void => {
        if (shutdown) {
          log(`${signal} again: exiting now`);
          process.exit(1);
        }
        log(`${signal}: stopping`);
        shutdown = (async () => {
          await Promise.all([service.stop(), server.close()]);
          closeStore();
          log('stopped');
          resolveDone();
        })();
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      const onHup = (): void => {
        if (flags.config === undefined) {
          log('SIGHUP: no --config file to reload; the defaults stay in force');
          return;
        }
        try {
          const next = loadConfig(flags.config);
          service.reload(next);
          log(`SIGHUP: reloaded ${flags.config}`);
        } catch (error) {
          const message =
            error instanceof HealwatchError ? `${error.message} [${error.code}]` : String(error);
          log(`SIGHUP: ${message}; keeping the previous configuration`);
        }
      };
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
      process.on('SIGHUP', onHup);
      try {
        log(
          `connecting to ${connection.server.origin} (context ${connection.contextName}, ${connection.source})`,
        );
        // A cluster that does not answer keeps the service syncing (and /readyz at 503): say why, now and then.
        const waiting = setInterval(() => {
          const h = service.health();
          if (h.state === 'syncing') log(`still waiting: ${h.reason ?? 'syncing'}`);
        }, 30_000);
        waiting.unref();
        try {
          await service.start();
        } finally {
          clearInterval(waiting);
        }
        if (!shutdown) {
          log(`running: ${service.findings().length} findings, ${service.firing().length} firing`);
        }
      } catch (error) {
        await Promise.all([service.stop(), server.close()]);
        closeStore();
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
        if (error instanceof StoreError) {
          // Reading the alerts back failed (an unreadable or locked database): one line, exit 1.
          process.stderr.write(`healwatch run: ${error.message.replace(/\s*\n\s*/g, ' ')} [${error.code}]\n`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
      await done;
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      process.exitCode = 0;
      // Whatever still holds the event loop open (a socket closing slowly) must not hold a stopped process.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}
