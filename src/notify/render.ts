import { refText, type Level } from '../domain/index.js';
import type { Delivery, NotificationAlert } from './types.js';

/** `ALERT`, `NOTICE`. */
export function levelWord(level: Level): string {
  return level.toUpperCase();
}

/** Cuts `text` to at most `max` characters, ending with `…` when cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, max);
  return `${text.slice(0, max - 1)}…`;
}

/** `[ALERT] Title (rule · Kind/ns/name)`, or `[RESOLVED] ...`. */
export function headline(a: NotificationAlert): string {
  const tag = a.status === 'resolved' ? 'RESOLVED' : levelWord(a.level);
  return `[${tag}] ${a.title} (${a.ruleId} · ${refText(a.object)})`;
}

/** What happened, as a short phrase: `fired`, `escalated from notice`, `still firing`, `resolved`. */
export function reasonText(a: NotificationAlert): string {
  switch (a.reason) {
    case 'fired':
      return 'fired';
    case 'level-changed':
      return a.previousLevel === undefined || a.previousLevel === 'none'
        ? `now at level ${a.level}`
        : `${a.previousLevel === 'alert' ? 'de-escalated' : 'escalated'} from ${a.previousLevel}`;
    case 'repeat':
      return 'still firing';
    case 'resolved':
      return a.note ? (a.note.startsWith('resolved') ? a.note : `resolved: ${a.note}`) : 'resolved';
  }
}

/** A title for a whole delivery: `[ALERT] 2 firing in shop (cluster prod)`. */
export function deliveryTitle(d: Delivery): string {
  const firing = d.alerts.filter((a) => a.status === 'firing');
  const resolved = d.alerts.length - firing.length;
  const cluster = d.cluster ? ` on ${d.cluster}` : '';
  if (d.alerts.length === 1) return `${headline(d.alerts[0]!)}${cluster}`;
  const top = firing.some((a) => a.level === 'alert') ? 'ALERT' : firing.length > 0 ? 'NOTICE' : 'RESOLVED';
  const parts = [
    firing.length > 0 ? `${firing.length} firing` : '',
    resolved > 0 ? `${resolved} resolved` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const group = Object.entries(d.groupLabels)
    .map(([k, v]) => `${k}=${v || '(cluster)'}`)
    .join(', ');
  return `[${top}] ${parts}${group ? ` (${group})` : ''}${cluster}`;
}

/**
 * Plain text of one alert: headline, what happened, the loop, the message, evidence, next steps. Used by
 * e-mail, the inbox and as the fallback text elsewhere; `maxEvidence` bounds the list.
 */
export function alertText(a: NotificationAlert, maxEvidence = 5): string {
  const when =
    a.status === 'resolved'
      ? `firing since ${new Date(a.startsAt).toISOString()}${a.endsAt !== undefined ? `, resolved at ${new Date(a.endsAt).toISOString()}` : ''}`
      : `since ${new Date(a.startsAt).toISOString()}`;
  const lines = [headline(a), `${reasonText(a)} · ${when}`];
  if (a.status === 'firing') {
    lines.push(`Loop: ${a.loop}`, a.message);
    const ev = a.evidence.slice(0, maxEvidence);
    if (ev.length > 0) lines.push('Evidence:', ...ev.map((e) => `  - ${e.text}`));
    if (a.nextSteps.length > 0) lines.push('Next steps:', ...a.nextSteps.map((s) => `  - ${s}`));
  }
  return lines.join('\n');
}

/** Plain text of a delivery: its title (unless it holds one alert, whose headline is the title), then each alert. */
export function deliveryText(d: Delivery, maxEvidence = 5): string {
  if (d.alerts.length === 1) return alertText(d.alerts[0]!, maxEvidence);
  return [
    deliveryTitle(d),
    '',
    ...d.alerts
      .map((a) => alertText(a, maxEvidence))
      .join('\n\n')
      .split('\n'),
  ].join('\n');
}
