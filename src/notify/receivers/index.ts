import type { Notifier } from '../types.js';
import { alertmanagerNotifier } from './alertmanager/index.js';
import { emailNotifier } from './email/index.js';
import { inboxNotifier } from './inbox/index.js';
import { opsgenieNotifier } from './opsgenie/index.js';
import { pagerdutyNotifier } from './pagerduty/index.js';
import { slackNotifier } from './slack/index.js';
import { webhookNotifier } from './webhook/index.js';

/** Every kind of receiver Healwatch can send to, by `type` (each folder has its README with its fields). */
export const NOTIFIERS: readonly Notifier<{ name: string; type: string }>[] = [
  pagerdutyNotifier,
  opsgenieNotifier,
  alertmanagerNotifier,
  slackNotifier,
  webhookNotifier,
  emailNotifier,
  inboxNotifier,
] as readonly Notifier<{ name: string; type: string }>[];
