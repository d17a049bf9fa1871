import { Command, Option } from 'commander';
import { loadConfig } from '../../config/index.js';

/** `healwatch rules`: the catalog with levels (after config), `for`, options and rationale. */
export function rulesCommand(): Command {
  return new Command('rules')
    .description(
      'list the rule catalog: level (after your config), for, options, the self-healing loop each guards, and why',
    )
    .option('--config <file>', 'healwatch.yaml to apply')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .action((flags: { config?: string; output: 'table' | 'json' }) => {
      const config = loadConfig(flags.config);
      const rows = config.rules.map((r) => ({
        id: r.rule.id,
        level: r.common.level,
        defaultLevel: r.rule.defaultLevel,
        forSeconds: r.common.forMs / 1000,
        summary: r.rule.summary,
        loop: r.rule.loop,
        rationale: r.rule.rationale,
        options: r.options,
        scope: r.common.scope,
      }));
      if (flags.output === 'json') {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const out: string[] = [];
      for (const r of rows) {
        const changed = r.level !== r.defaultLevel ? ` (default ${r.defaultLevel})` : '';
        out.push(
          `${r.id}  [${r.level}${changed}, for ${r.forSeconds}s]`,
          `  ${r.summary}`,
          `  loop: ${r.loop}`,
          `  why: ${r.rationale}`,
        );
        const opts = Object.entries((r.options ?? {}) as Record<string, unknown>);
        if (opts.length > 0)
          out.push(`  options: ${opts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
        out.push('');
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
