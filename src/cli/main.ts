#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { HealwatchError } from '../domain/index.js';
import { checkCommand } from './commands/check.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { inventoryCommand } from './commands/inventory.js';
import { rulesCommand } from './commands/rules.js';
import { runCommand } from './commands/run.js';
import { silenceCommand } from './commands/silence.js';
import { simCommand } from './commands/sim.js';

// A larger young generation halves the time a big simulated cluster takes to build (it allocates
// millions of short-lived objects; 31 s -> 17 s for 5,000 nodes / 150,000 pods). Only for the simulator:
// a watching process would pay for it in RSS (the watch benchmark measured +100 MiB at 150k pods).
if (process.argv[2] === 'sim' || process.argv[2] === 'demo') setFlagsFromString('--max-semi-space-size=64');

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Builds the `healwatch` command tree. */
export function buildProgram(): Command {
  const program = new Command('healwatch')
    .description('Healwatch: a Kubernetes monitor that checks that self-healing keeps working')
    .version(pkg.version, '-V, --version', 'print the Healwatch version')
    .showHelpAfterError('(add --help for usage)')
    // `sim` and its subcommands share option names (-o, --token): options go to the command they follow.
    .enablePositionalOptions()
    .exitOverride();
  program.addCommand(demoCommand());
  program.addCommand(inventoryCommand());
  program.addCommand(checkCommand());
  program.addCommand(runCommand());
  program.addCommand(silenceCommand());
  program.addCommand(rulesCommand());
  program.addCommand(configCommand());
  program.addCommand(simCommand());
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Runs the CLI; exit code 2 for usage errors, 1 for other failures — except `check`, whose 1 and 2 mean
 * Notices and Alerts, so its own failures exit 3.
 */
export async function main(argv: string[]): Promise<void> {
  const failure = (code: number): number => (argv[2] === 'check' && code !== 0 ? 3 : code);
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = failure(error.exitCode === 0 ? 0 : 2);
      return;
    }
    if (error instanceof HealwatchError) {
      process.stderr.write(`healwatch: ${error.message} [${error.code}]\n`);
      process.exitCode = failure(error.exitCode);
      return;
    }
    process.stderr.write(
      `healwatch: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = failure(1);
  }
}

await main(process.argv);
