import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HealwatchError } from '../../domain/index.js';
import {
  FAULTS,
  ScenarioError,
  startSimulator,
  type Simulator,
  type SimulatorOptions,
} from '../../sim/index.js';
import { controlRequest, healwatchHome, resolveSim, simStatePath, writeSimState } from './sim-control.js';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

interface SimFlags {
  host: string;
  port: number;
  tls?: boolean;
  token?: string;
  tokenFile?: string;
  certDays: number;
  scenario: string;
  nodes?: number;
  podsPerNode?: number;
  maxNodes?: number;
  speed?: number;
  seed: string;
  kubeVersion?: string;
  churn?: number;
  recordWrites?: boolean;
  kubeconfigOut?: string;
  output: 'text' | 'json';
}

/** Options `healwatch sim` and `healwatch demo` share. */
export function addSimulatorOptions(command: Command): Command {
  return command
    .option('--host <address>', 'address to bind (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', integer('--port', 0, 65535), 6443)
    .option(
      '--tls',
      'serve HTTPS with a generated CA and serving certificate (kubectl sends tokens only over TLS)',
    )
    .option(
      '--token <token>',
      'require this bearer token (prefer --token-file or HEALWATCH_SIM_TOKEN: arguments are visible to other users)',
    )
    .option('--token-file <file>', 'read the bearer token from a file')
    .option(
      '--cert-days <days>',
      'lifetime of the serving certificate in days (negative: already expired)',
      Number,
      365,
    )
    .option(
      '--scenario <name|file>',
      'built-in scenario (demo, eks, gke, aks) or a scenario YAML file',
      'demo',
    )
    .option('--nodes <n>', "worker nodes (default 4, or the scenario file's)", integer('--nodes', 1, 20_000))
    .option(
      '--pods-per-node <n>',
      'fill the cluster to about this many pods per worker (scale runs)',
      integer('--pods-per-node', 1, 110),
    )
    .option(
      '--max-nodes <n>',
      'most workers the Cluster Autoscaler may reach (default nodes + 2)',
      integer('--max-nodes', 1, 20_000),
    )
    .option('--speed <x>', 'simulated time runs this many times faster than real time', positive('--speed'))
    .option('--seed <seed>', 'seed for names, UIDs and behaviour', 'healwatch')
    .option(
      '--kube-version <gitVersion>',
      'the version /version reports (e.g. v1.32.2; default per platform)',
    )
    .option(
      '--churn <events/s>',
      'delete and replace this many pods per second (benchmarks)',
      positive('--churn'),
    )
    .option(
      '--record-writes',
      'keep the wall-clock time of recent writes and serve them at GET /sim/v1/writes/RV (benchmarks)',
    )
    .option('--kubeconfig-out <file>', 'where to write the kubeconfig (default ~/.healwatch/sim.kubeconfig)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
    );
}

function readToken(flags: SimFlags): string | undefined {
  if (flags.tokenFile) {
    try {
      return readFileSync(flags.tokenFile, 'utf8').trim();
    } catch (error) {
      throw new HealwatchError(
        'HW_ERR_USAGE',
        `--token-file ${flags.tokenFile}: ${(error as Error).message}`,
      );
    }
  }
  return flags.token ?? process.env.HEALWATCH_SIM_TOKEN ?? undefined;
}

/** Starts the simulator from CLI flags, writes its kubeconfig and state file, and reports where it is. */
export async function launchSimulator(flags: SimFlags, log: (line: string) => void): Promise<Simulator> {
  const token = readToken(flags);
  const kubeconfigOut = flags.kubeconfigOut ?? join(healwatchHome(), 'sim.kubeconfig');
  mkdirSync(dirname(kubeconfigOut), { recursive: true, mode: 0o700 });
  const options: SimulatorOptions = {
    host: flags.host,
    port: flags.port,
    scenario: flags.scenario,
    seed: flags.seed,
    certDays: flags.certDays,
    kubeconfigOut,
    ...(flags.tls ? { tls: true } : {}),
    ...(token ? { token } : {}),
    ...(flags.nodes !== undefined ? { nodes: flags.nodes } : {}),
    ...(flags.podsPerNode !== undefined ? { podsPerNode: flags.podsPerNode } : {}),
    ...(flags.maxNodes !== undefined ? { maxNodes: flags.maxNodes } : {}),
    ...(flags.speed !== undefined ? { speed: flags.speed } : {}),
    ...(flags.kubeVersion !== undefined ? { version: flags.kubeVersion } : {}),
    ...(flags.churn !== undefined ? { churn: flags.churn } : {}),
    ...(flags.recordWrites ? { recordWrites: true } : {}),
  };
  if (token && !flags.tls)
    log('warning: kubectl sends no token over plain http; add --tls to use the token with kubectl');
  const nodes = flags.nodes ?? 4;
  log(
    `building the simulated cluster (${flags.scenario}, ${nodes} workers${flags.podsPerNode ? `, ~${flags.podsPerNode} pods per worker` : ''})...`,
  );
  const started = performance.now();
  let sim: Simulator;
  try {
    sim = await startSimulator(options);
  } catch (error) {
    if (error instanceof ScenarioError)
      throw new HealwatchError('HW_ERR_SIM_SCENARIO_INVALID', error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new HealwatchError(
        'HW_ERR_SIM_LISTEN',
        `cannot listen on ${flags.host}:${flags.port}: ${code} (choose another --port, or --port 0 for any free one)`,
      );
    }
    throw error;
  }
  const store = sim.cluster.world.store;
  log(
    `ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${store.count('nodes')} nodes, ${store.count('pods')} pods, ` +
      `${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB RSS`,
  );
  writeSimState({
    url: sim.url,
    ...(token ? { token } : {}),
    ...(sim.cluster.certificateAuthority ? { ca: sim.cluster.certificateAuthority.cert } : {}),
    kubeconfig: kubeconfigOut,
    pid: process.pid,
  });
  return sim;
}

/** Stops the simulator on SIGINT/SIGTERM and removes the state file. */
export function stopOnSignals(
  sim: Simulator,
  log: (line: string) => void,
  extra?: () => Promise<void>,
): void {
  let isStopping = false;
  const stop = (signal: string): void => {
    if (isStopping) return;
    isStopping = true;
    log(`${signal}: stopping`);
    void (async () => {
      await extra?.();
      await sim.close();
      try {
        unlinkSync(simStatePath());
      } catch {
        // already gone
      }
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function print(output: 'text' | 'json', json: unknown, text: string): void {
  process.stdout.write(
    output === 'json' ? `${JSON.stringify(json, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`,
  );
}

interface ControlFlags {
  server?: string;
  token?: string;
  output: 'text' | 'json';
}

function addControlOptions(command: Command): Command {
  return command
    .option('--server <url>', 'the simulator to talk to (default: the one `healwatch sim` started last)')
    .option(
      '--token <token>',
      'bearer token of that simulator (default: from its state file, or HEALWATCH_SIM_TOKEN)',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
    );
}

async function control(flags: ControlFlags, method: string, path: string, body?: unknown): Promise<unknown> {
  const target = resolveSim(flags.server, flags.token ?? process.env.HEALWATCH_SIM_TOKEN);
  const answer = await controlRequest(target, method, path, body);
  if (answer.status === 401)
    throw new HealwatchError(
      'HW_ERR_SIM_UNREACHABLE',
      'the simulator answered 401 Unauthorized: pass its --token',
    );
  if (answer.status >= 400) {
    const message = (answer.body as { error?: unknown } | undefined)?.error;
    throw new HealwatchError(
      'HW_ERR_SIM_FAULT_REJECTED',
      typeof message === 'string' ? message : `HTTP ${answer.status}`,
    );
  }
  return answer.body;
}

const FAULT_HELP = FAULTS.map((f) => `  ${f.usage.padEnd(40)} ${f.summary}`).join('\n');

/** `healwatch sim` and its subcommands. */
export function simCommand(): Command {
  const sim = addSimulatorOptions(new Command('sim'))
    .enablePositionalOptions()
    .description('start a simulated Kubernetes cluster that kubectl and client libraries accept, on loopback')
    .addHelpText(
      'after',
      `
The simulator prints its URL and writes a kubeconfig; then, in another terminal:
  export KUBECONFIG=~/.healwatch/sim.kubeconfig
  kubectl get nodes
  healwatch sim fault crashloop shop/cart
  kubectl get pods -n shop
  healwatch sim heal

Time: cluster behaviour runs on the simulated clock (--speed); HTTP timeouts run in real time.`,
    )
    .action(async (flags: SimFlags) => {
      const log = (line: string): void => void process.stderr.write(`healwatch sim: ${line}\n`);
      const simulator = await launchSimulator(flags, log);
      stopOnSignals(simulator, log);
      const kubeconfig = flags.kubeconfigOut ?? join(healwatchHome(), 'sim.kubeconfig');
      print(
        flags.output,
        {
          url: simulator.url,
          kubeconfig,
          platform: simulator.cluster.platform,
          version: simulator.cluster.world.gitVersion,
        },
        `${simulator.url}\n`,
      );
      log(`kubeconfig: ${kubeconfig}   (export KUBECONFIG=${kubeconfig}; kubectl get pods -A)`);
      log('inject faults with "healwatch sim fault NAME [TARGET]"; Ctrl-C stops');
    });

  addControlOptions(sim.command('fault'))
    .description('start (or with --stop, stop) a fault in a running simulator')
    .argument('<name>', 'fault name (see below)')
    .argument('[target]', 'NAMESPACE/NAME, NODE, VERSION, DAYS, SECONDS or MS, as the fault needs')
    .argument('[args...]', 'extra arguments (disk-fill NODE PERCENT, skew NS/DEPLOY NODE)')
    .option('--for <duration>', 'end the fault by itself after this simulated duration (e.g. 5m)')
    .option(
      '--since <duration>',
      'start it in the past (e.g. 30m): restarts and events are backdated (crash-type faults)',
    )
    .option('--stop', 'stop the active fault with this name (and target, if given)')
    .addHelpText('after', `\nFaults:\n${FAULT_HELP}`)
    .action(
      async (
        name: string,
        target: string | undefined,
        args: string[],
        flags: ControlFlags & { for?: string; since?: string; stop?: boolean },
      ) => {
        if (flags.stop) {
          const body = await control(flags, 'POST', '/sim/v1/faults/stop', {
            name,
            ...(target ? { target } : {}),
          });
          print(flags.output, body, `stopped ${name}${target ? ` ${target}` : ''}`);
          return;
        }
        const body = (await control(flags, 'POST', '/sim/v1/faults', {
          name,
          ...(target !== undefined ? { target } : {}),
          args,
          ...(flags.for ? { duration: flags.for } : {}),
          ...(flags.since ? { since: flags.since } : {}),
        })) as { id?: number; endsAt?: number };
        const until = body.endsAt ? ` until ${new Date(body.endsAt).toISOString()} (simulated)` : '';
        print(
          flags.output,
          body,
          name === 'heal'
            ? 'healed: every fault ended'
            : `started ${name}${target ? ` ${target}` : ''}${until} (id ${body.id ?? '-'})`,
        );
      },
    );

  addControlOptions(sim.command('faults'))
    .description('list the faults a simulator can inject and the active ones')
    .action(async (flags: ControlFlags) => {
      const body = (await control(flags, 'GET', '/sim/v1/faults')) as {
        active: { id: number; name: string; target?: string; startedAt: number }[];
      };
      const active = body.active.map(
        (f) =>
          `  ${String(f.id).padEnd(4)} ${f.name}${f.target ? ` ${f.target}` : ''}  since ${new Date(f.startedAt).toISOString()}`,
      );
      print(flags.output, body, `Active faults:\n${active.join('\n') || '  none'}\n\nFaults:\n${FAULT_HELP}`);
    });

  addControlOptions(sim.command('heal'))
    .description('end every active fault')
    .action(async (flags: ControlFlags) => {
      const body = await control(flags, 'POST', '/sim/v1/heal');
      print(flags.output, body, 'healed: every fault ended');
    });

  addControlOptions(sim.command('status'))
    .description("show a running simulator's clock, size and active faults")
    .action(async (flags: ControlFlags) => {
      const body = (await control(flags, 'GET', '/sim/v1/status')) as Record<string, unknown>;
      const lines = Object.entries(body)
        .filter(([k]) => k !== 'faults')
        .map(([k, v]) => `${k.padEnd(16)} ${String(v)}`);
      const faults = (body.faults as { name: string; target?: string }[] | undefined) ?? [];
      lines.push(
        `${'faults'.padEnd(16)} ${faults.map((f) => `${f.name}${f.target ? ` ${f.target}` : ''}`).join(', ') || 'none'}`,
      );
      print(flags.output, body, lines.join('\n'));
    });
  return sim;
}
