import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { firingSummary, startRunner, type Runner } from '../../app/runner.js';
import { Connection } from '../../cluster/index.js';
import { parseConfig } from '../../config/index.js';
import { parseListen } from '../../server/index.js';
import { addSimulatorOptions, launchSimulator, stopOnSignals } from './sim.js';
import { healwatchHome } from './sim-control.js';

/**
 * The demo's configuration: one inbox receiver that prints to the terminal, taking Alerts and Notices at
 * any hour (a newcomer trying it at night should see both), grouped by namespace.
 */
export function demoConfigText(inbox: string, print: 'stdout' | 'none'): string {
  return [
    '# The configuration `healwatch demo` runs with (written for you to read and copy).',
    'clusterName: demo',
    'notifications:',
    '  receivers:',
    '    - name: inbox',
    '      type: inbox',
    `      path: ${JSON.stringify(inbox)}`,
    `      print: ${print}`,
    '  routes:',
    '    - receivers: [inbox]',
    '      levels: [alert, notice]',
    '      groupBy: [namespace]',
    '      groupWait: 5s',
    '      groupInterval: 1m',
    '  # Every hour is business hours in the demo, so Notices show at once. In production Notices wait for',
    '  # the hours you set here (Alerts never wait).',
    '  businessHours:',
    '    timeZone: UTC',
    '    days: [mon-sun]',
    "    start: '00:00'",
    "    end: '24:00'",
    '',
  ].join('\n');
}

interface DemoFlags {
  listen: string;
  inbox?: string;
  output?: 'text' | 'json';
  kubeconfigOut?: string;
}

/**
 * `healwatch demo`: the whole product on the built-in simulated cluster: the simulator, the monitor
 * watching it with its API, and an inbox receiver that prints every notification to the terminal.
 */
export function demoCommand(): Command {
  return addSimulatorOptions(new Command('demo'))
    .description(
      'start the demo: a simulated cluster, Healwatch watching it (API on --listen), and an inbox printing every notification',
    )
    .option(
      '--listen <host:port>',
      "address of Healwatch's HTTP API (port 0: any free port)",
      '127.0.0.1:8080',
    )
    .option(
      '--inbox <file>',
      'where notifications are written, one JSON line each (default ~/.healwatch/demo-inbox.jsonl)',
    )
    .addHelpText(
      'after',
      [
        '',
        'The monitor runs with the configuration written to ~/.healwatch/demo.yaml: one `inbox` receiver that',
        'takes Alerts and Notices at any hour. Inject a fault from another terminal (`healwatch sim fault',
        'scheduler-down`) and the Alert arrives here within about two minutes.',
      ].join('\n'),
    )
    .action(async (flags: Parameters<typeof launchSimulator>[0] & DemoFlags) => {
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const { host, port } = parseListen(flags.listen);
      const home = healwatchHome();
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const inbox = flags.inbox ?? join(home, 'demo-inbox.jsonl');
      // A fresh inbox per demo: what you see is what this run sent.
      writeFileSync(inbox, '');
      const configFile = join(home, 'demo.yaml');
      const configText = demoConfigText(inbox, flags.output === 'json' ? 'none' : 'stdout');
      writeFileSync(configFile, configText);
      const config = parseConfig(configText, configFile);

      const sim = await launchSimulator(flags, (line) => log(`healwatch demo: ${line}`));
      let runner: Runner;
      try {
        runner = await startRunner({
          connection: Connection.fromString(sim.kubeconfig()),
          config,
          configFile,
          host,
          port,
          memoryStoreExpected: true,
          log: (line) => log(`healwatch demo: ${line}`),
        });
      } catch (error) {
        await sim.close();
        throw error;
      }
      stopOnSignals(
        sim,
        (line) => log(`healwatch demo: ${line}`),
        () => runner.stop(),
      );
      const kubeconfig = flags.kubeconfigOut ?? join(home, 'sim.kubeconfig');
      const api = runner.server.url;
      const text = [
        '',
        `Healwatch demo: a simulated ${sim.cluster.platform === 'kubeadm' ? 'self-managed' : sim.cluster.platform.toUpperCase()} cluster (${sim.cluster.world.gitVersion}) is running at ${sim.url}`,
        `Healwatch is watching it. Open the dashboard: ${api}/`,
        `(API at ${api}/api/v1/..., configuration in ${configFile})`,
        `Notifications are printed here and written to ${inbox}.`,
        '',
        'Look at the cluster with kubectl, in another terminal:',
        `  export KUBECONFIG=${kubeconfig}`,
        '  kubectl get nodes',
        '  kubectl get pods -A',
        '',
        'Break a self-healing loop and watch the Alert arrive here (about two minutes):',
        '  npx healwatch sim fault scheduler-down          # new pods stay Pending: an Alert',
        '  npx healwatch sim fault crashloop shop/cart     # a crash-looping Deployment: an Alert',
        '  npx healwatch sim fault node-notready sim-worker2',
        '  npx healwatch sim faults                        # everything you can inject',
        '  npx healwatch sim heal                          # end every fault: RESOLVED messages follow',
        '',
        "Ask Healwatch what it sees, or silence what you don't want to hear about:",
        `  curl -s ${api}/api/v1/alerts`,
        `  npx healwatch silence add namespace=shop --duration 1h --comment "trying it" --url ${api}`,
        `  npx healwatch check --kubeconfig ${kubeconfig}     # a one-shot check (exit 0, 1 Notices, 2 Alerts)`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n');
      process.stdout.write(
        flags.output === 'json'
          ? `${JSON.stringify({ url: sim.url, kubeconfig, api, inbox, config: configFile })}\n`
          : text,
      );
      try {
        await runner.started;
        log(`healwatch demo: watching: ${firingSummary(runner.service)}`);
      } catch (error) {
        log(
          `healwatch demo: the monitor could not start: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
}
