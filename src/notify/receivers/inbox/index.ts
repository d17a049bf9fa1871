import { appendFile, mkdir, open } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { cut, deliveryText, deliveryTitle } from '../../render.js';
import { redact } from '../../secret.js';
import type { Delivery, DeliveryResult, Notifier, Sender } from '../../types.js';

const schema = z
  .object({
    name: z.string().min(1),
    type: z.literal('inbox'),
    /** The file deliveries are appended to, one JSON line each (its directory is created when missing). */
    path: z.string().min(1),
    /** Also write the message as text to this stream (default `none`). */
    print: z.enum(['stdout', 'stderr', 'none']).optional(),
  })
  .strict();

/** An inbox receiver's configuration. */
export type InboxConfig = z.output<typeof schema>;

/** One line of an inbox file. */
export interface InboxEntry {
  /** When it was delivered (ISO 8601, the delivery's `now`). */
  readonly at: string;
  /** The delivery's title (`[ALERT] ...`). */
  readonly title: string;
  /** The message as people read it: level, broken loop, evidence, next steps. */
  readonly text: string;
  /** The delivery itself (times in epoch ms). */
  readonly delivery: Delivery;
}

/** The `text` of an entry is cut to this many characters. */
const MAX_TEXT = 20_000;

/** The line above a printed message. */
export const INBOX_FRAME = '──── healwatch inbox ────';

const ERRNO: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent of it is not a directory',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/**
 * Reads an inbox file: its entries, oldest first. A missing file is an empty inbox; a line that is not
 * JSON (a write torn by a crash) is skipped.
 */
export function readInbox(path: string): InboxEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: InboxEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as InboxEntry);
    } catch {
      // A torn write: skip it.
    }
  }
  return entries;
}

/** Whether the file exists and does not end with a newline (the last write was torn). */
async function endsTorn(path: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const { size } = await file.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await file.close();
  }
}

/** Appends one entry (starting on a new line if the last write was torn). */
async function append(path: string, entry: InboxEntry): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const line = `${JSON.stringify(entry)}\n`;
  await appendFile(path, (await endsTorn(path)) ? `\n${line}` : line, 'utf8');
}

/** A local file receiver: for the demo, tests and trying Healwatch without a chat tool. */
export const inboxNotifier: Notifier<InboxConfig> = {
  type: 'inbox',
  description: 'Local inbox file: one JSON line per message, optionally printed to stdout or stderr',
  schema,
  batching: 'group',
  create(config: InboxConfig): Sender {
    const print = config.print ?? 'none';
    // Deliveries to one inbox are written one after the other, so lines never interleave.
    let queue: Promise<unknown> = Promise.resolve();
    return {
      send(delivery): Promise<DeliveryResult> {
        const run = async (): Promise<DeliveryResult> => {
          const text = cut(deliveryText(delivery), MAX_TEXT);
          const entry: InboxEntry = {
            at: new Date(delivery.now).toISOString(),
            title: deliveryTitle(delivery),
            text,
            delivery,
          };
          try {
            await append(config.path, entry);
          } catch (error) {
            const e = error as NodeJS.ErrnoException;
            const why = (e.code && ERRNO[e.code]) ?? e.message;
            return {
              ok: false,
              retryable: true,
              error: redact(`cannot write inbox file ${config.path}: ${why}${e.code ? ` (${e.code})` : ''}`),
            };
          }
          if (print !== 'none') process[print].write(`${INBOX_FRAME}\n${text}\n\n`);
          return { ok: true, detail: `appended to ${config.path}` };
        };
        const result = queue.then(run, run);
        queue = result;
        return result;
      },
    };
  },
};
