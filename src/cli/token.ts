import { readFileSync } from 'node:fs';
import { HealwatchError } from '../domain/index.js';

/** The API token: from `--token-file` (trimmed) or `HEALWATCH_TOKEN`; never printed. */
export function readToken(file: string | undefined): string | undefined {
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
