import { readToken } from '../token.js';
import { Command } from 'commander';
import { firingSummary, startRunner, type Runner } from '../../app/runner.js';
import { Connection } from '../../cluster/index.js';
import { loadConfig } from '../../config/index.js';
import { assertSafeListen, parseListen } from '../../server/index.js';
import { StoreError } from '../../store/index.js';

interface RunFlags {
  kubeconfig?: string;
  context?: string;
  config?: string;
  data?: string;
  listen: string;
  tokenFile?: string;
}

const log = (line: string): void => void process.stderr.write(`healwatch run: ${line}\n`);

/** `healwatch run`: the long-running monitor with its HTTP API. */
export function runCommand(): Command {
  return new Command('run')
    .description(
      'watch a cluster continuously: evaluate every rule as it changes, track alerts, notify, serve the dashboard, the HTTP API and /metrics',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option(
      '--config <file>',
      'healwatch.yaml (levels, thresholds, scopes, add-on namespaces, notifications); reloaded on SIGHUP and when the file changes',
    )
    .option(
      '--data <dir>',
      'directory of the durable store (created if needed; holds healwatch.db): alerts, their history, the notification outbox and silences survive a restart (default: none, all kept in memory only)',
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
        'The dashboard is at / (docs/dashboard.md); it asks for the token once when one is set.',
        'Endpoints: /healthz and /readyz (no token), /api/v1/findings, /api/v1/alerts, /api/v1/health,',
        '/api/v1/history, /api/v1/silences, /api/v1/receivers, /metrics (docs/api.md).',
        'Notifications: receivers and routes in the config file (docs/notifications.md): Alerts go to their',
        'receivers at once, day and night; Notices only within business hours. Every message goes through a',
        'durable outbox (in --data DIR) and is retried for 24 h; `healwatch silence` mutes alerts.',
        'With --data DIR, every alert change is written to DIR/healwatch.db: after a restart, firing alerts',
        'stay firing (no second FIRING), pending ones fire when their `for` has passed since they opened, and',
        'those gone while Healwatch was down resolve (RESOLVED ... resolved while Healwatch was down).',
        'Logs go to stderr: the bound address, sync progress, one line per alert transition',
        '(PENDING, FIRING, ESCALATED, DEESCALATED, RESOLVED, or CLEARED for a pending one that went away;',
        'Notice and Alert only) and lifecycle.',
        'Signals: SIGTERM or SIGINT stop gracefully (exit 0); SIGHUP reloads --config, as does a change of the',
        'file (an invalid file is reported with its file, line and field, and the running configuration is',
        'kept).',
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
      let runner: Runner;
      try {
        runner = await startRunner({
          connection,
          config,
          configFile: flags.config,
          dataDir: flags.data,
          host,
          port,
          token,
          log,
        });
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        process.stderr.write(`healwatch run: ${error.message.replace(/\s*\n\s*/g, ' ')} [${error.code}]\n`);
        process.exitCode = 1;
        return;
      }
      const { service, server } = runner;
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
          await runner.stop();
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
        if (runner.reload('SIGHUP')) log(`SIGHUP: reloaded ${flags.config}`);
      };
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
      process.on('SIGHUP', onHup);
      const detach = (): void => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
      };
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
          await runner.started;
        } finally {
          clearInterval(waiting);
        }
        if (!shutdown) {
          log(`running: ${firingSummary(service)}`);
        }
      } catch (error) {
        await runner.stop();
        detach();
        if (error instanceof StoreError) {
          // Reading the alerts back failed (an unreadable or locked database): one line, exit 1.
          process.stderr.write(`healwatch run: ${error.message.replace(/\s*\n\s*/g, ' ')} [${error.code}]\n`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
      await done;
      detach();
      process.exitCode = 0;
      // Whatever still holds the event loop open (a socket closing slowly) must not hold a stopped process.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}
