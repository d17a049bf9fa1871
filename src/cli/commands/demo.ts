import { join } from 'node:path';
import { Command } from 'commander';
import { addSimulatorOptions, launchSimulator, stopOnSignals } from './sim.js';
import { healwatchHome } from './sim-control.js';

/**
 * `healwatch demo`: the product on the built-in simulated cluster. For now it starts the simulator and
 * shows how to reach it and break it; the monitor and dashboard join it as they land.
 */
export function demoCommand(): Command {
  return addSimulatorOptions(new Command('demo'))
    .description('start the demo: a simulated cluster to look at with kubectl and to inject faults into')
    .action(async (flags: Parameters<typeof launchSimulator>[0]) => {
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const sim = await launchSimulator(flags, (line) => log(`healwatch demo: ${line}`));
      stopOnSignals(sim, (line) => log(`healwatch demo: ${line}`));
      const kubeconfig = flags.kubeconfigOut ?? join(healwatchHome(), 'sim.kubeconfig');
      const text = [
        '',
        `Healwatch demo: a simulated ${sim.cluster.platform === 'kubeadm' ? 'self-managed' : sim.cluster.platform.toUpperCase()} cluster (${sim.cluster.world.gitVersion}) is running at ${sim.url}`,
        '',
        'Look at it with kubectl, in another terminal:',
        `  export KUBECONFIG=${kubeconfig}`,
        '  kubectl get nodes',
        '  kubectl get pods -A',
        '  kubectl top nodes',
        '',
        'Break a self-healing loop and watch what happens:',
        '  npx healwatch sim fault scheduler-down          # new pods stay Pending',
        '  kubectl -n shop scale deploy/frontend --replicas=5 && kubectl -n shop get pods',
        '  npx healwatch sim fault crashloop shop/cart     # CrashLoopBackOff, BackOff events',
        '  npx healwatch sim fault node-notready sim-worker2',
        '  npx healwatch sim faults                        # everything you can inject',
        '  npx healwatch sim heal                          # end every fault',
        '',
        'Ask Healwatch what is broken and where to look (exit 0 healthy, 1 Notices, 2 Alerts):',
        `  npx healwatch check --kubeconfig ${kubeconfig}`,
        `  npx healwatch run --kubeconfig ${kubeconfig}   # continuously, with an API on 127.0.0.1:8080`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n');
      process.stdout.write(
        flags.output === 'json' ? `${JSON.stringify({ url: sim.url, kubeconfig })}\n` : text,
      );
    });
}
