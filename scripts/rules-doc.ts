/**
 * Writes docs/rules.md from the rule registry, so the catalog's documentation cannot drift from the
 * code (test/docs.test.ts fails when the file is stale). Usage: node --import tsx scripts/rules-doc.ts
 */
import { writeFileSync } from 'node:fs';
import { BUILTIN_RULES } from '../src/rules/index.js';

/** The text of docs/rules.md. */
export function rulesDoc(): string {
  const out: string[] = [
    '# The rule catalog',
    '',
    'Generated from the rule registry by `node --import tsx scripts/rules-doc.ts`; do not edit by hand.',
    'Every level, `for`, scope and option can be changed in `healwatch.yaml` (see `examples/`); `healwatch',
    'rules` prints the catalog with your configuration applied.',
    '',
    '| rule | level | for | what it reports |',
    '|---|---|---|---|',
  ];
  for (const r of BUILTIN_RULES)
    out.push(`| [\`${r.id}\`](#${r.id}) | ${r.defaultLevel} | ${r.defaultForMs / 1000} s | ${r.summary} |`);
  for (const r of BUILTIN_RULES) {
    const defaults = (r.options as { parse(v: unknown): unknown }).parse({}) as Record<string, unknown>;
    out.push(
      '',
      `## ${r.id}`,
      '',
      r.summary,
      '',
      `- **Level:** ${r.defaultLevel}, after ${r.defaultForMs / 1000} s`,
      `- **Loop:** ${r.loop}`,
      `- **Why:** ${r.rationale}`,
      `- **Re-evaluated on:** ${r.inputs.join(', ') || 'every tick'}`,
    );
    if (r.needsHistory)
      out.push(`- **Needs history** (not judged by a one-shot \`healwatch check\`): ${r.needsHistory}`);
    const options = Object.entries(defaults);
    if (options.length > 0)
      out.push(
        `- **Options (defaults):** ${options.map(([k, v]) => `\`${k}: ${JSON.stringify(v)}\``).join(', ')}`,
      );
    out.push(`- **Details and cases:** [src/rules/builtin/${r.id}/](../src/rules/builtin/${r.id}/README.md)`);
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('rules-doc.ts')) {
  writeFileSync(new URL('../docs/rules.md', import.meta.url), rulesDoc());
  process.stdout.write('docs/rules.md written\n');
}
