import { Command } from 'commander';
import type { z } from 'zod';
import { loadConfig } from '../../config/index.js';

/** `healwatch config validate FILE`. */
export function configCommand(): Command {
  const config = new Command('config').description('work with healwatch.yaml');
  config
    .command('validate')
    .description('check a configuration file; errors name the file, line and field')
    .argument('<file>', 'the configuration file')
    .action((file: string) => {
      const c = loadConfig(file);
      const changed = c.rules.filter(
        (r) =>
          r.common.level !== r.rule.defaultLevel ||
          r.common.forMs !== r.rule.defaultForMs ||
          r.common.scope.namespaces.length > 0 ||
          r.common.scope.excludeNamespaces.length > 0 ||
          r.common.scope.labelSelector !== undefined ||
          JSON.stringify(r.options) !== JSON.stringify((r.rule.options as z.ZodType<unknown>).parse({})),
      );
      process.stdout.write(
        `${file}: valid (${c.rules.length} rules, ${changed.length} changed from their defaults${changed.length > 0 ? `: ${changed.map((r) => r.rule.id).join(', ')}` : ''})\n`,
      );
    });
  return config;
}
