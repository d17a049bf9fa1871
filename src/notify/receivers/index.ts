import type { Notifier } from '../types.js';
import { emailNotifier } from './email/index.js';
import { inboxNotifier } from './inbox/index.js';
import { slackNotifier } from './slack/index.js';
import { webhookNotifier } from './webhook/index.js';

/** Every kind of receiver Healwatch can send to, by `type` (each folder has its README with its fields). */
export const NOTIFIERS: readonly Notifier<{ name: string; type: string }>[] = [
  slackNotifier,
  webhookNotifier,
  emailNotifier,
  inboxNotifier,
] as readonly Notifier<{ name: string; type: string }>[];
