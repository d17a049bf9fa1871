import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import { refText } from '../../../domain/index.js';
import { DEFAULT_TIMEOUT_MS, httpError, isRetryableStatus, send, type HttpAnswer } from '../../http.js';
import { cut, deliveryTitle, headline, levelWord, reasonText } from '../../render.js';
import { redact, registerUrlParts, secretUrlField } from '../../secret.js';
import type { Delivery, DeliveryResult, NotificationAlert, Notifier, Sender } from '../../types.js';

/** Block Kit limits (https://api.slack.com/reference/block-kit). */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  blocks: 50,
  fallbackText: 4000,
  contextText: 2000,
  evidence: 5,
  nextSteps: 5,
} as const;

/** One or more Slack mentions: `<!here>`, `<!channel>`, `<!everyone>`, `<@U0123>`, `<!subteam^S0123>`. */
const MENTION = /^<(!here|!channel|!everyone|@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)(\|[^<>]*)?>$/;

const schema = z
  .object({
    name: z.string().min(1),
    type: z.literal('slack'),
    /** The incoming-webhook URL (`https://hooks.slack.com/services/...`): a secret. */
    url: secretUrlField,
    /** Put before messages with a firing Alert-level alert, e.g. `<!here>` or `<!subteam^S0123ABC>`. */
    mention: z
      .string()
      .trim()
      .min(1)
      .refine(
        (text) => text.split(/\s+/).every((token) => MENTION.test(token)),
        'must be Slack mention syntax such as <!here>, <!channel>, <@U0123ABC> or <!subteam^S0123ABC> (a plain @here does not notify anyone)',
      )
      .optional(),
    /** How long Slack has to answer (default 10s). Milliseconds once parsed. */
    timeout: timeoutField.optional(),
  })
  .strict();

/** A Slack receiver's configuration, as parsed (the URL is a Secret, `timeout` in milliseconds). */
export type SlackConfig = z.output<typeof schema>;

/** Escapes Slack's control characters so that cluster text cannot mention anyone or make links. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts escaped text to `max` characters without splitting an entity (`&amp;`, `&lt;`, `&gt;`). */
function cutEscaped(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/** Escaped and cut, for inline use (`raw` is first cut to `max` characters, then escaped). */
const esc = (raw: string, max: number): string => escapeSlack(cut(raw.replace(/\s+/g, ' ').trim(), max));

/** Text in backticks: the backtick itself cannot be escaped in mrkdwn, so it becomes a quote. */
const code = (raw: string, max: number): string => `\`${esc(raw.replace(/`/g, "'"), max)}\``;

const COMMAND = /^(kubectl|helm|crictl|journalctl|systemctl|etcdctl|curl|dig|nslookup|openssl)\s/;

/** `<!date^...|fallback>`: Slack shows the time in the reader's time zone. */
function slackDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${iso.replace('.000Z', 'Z')}>`;
}

/** A Block Kit text object. */
export interface SlackText {
  readonly type: 'plain_text' | 'mrkdwn';
  readonly text: string;
  readonly emoji?: boolean;
  readonly verbatim?: boolean;
}

/** The Block Kit blocks Healwatch uses. */
export type SlackBlock =
  | { readonly type: 'header'; readonly text: SlackText }
  | { readonly type: 'section'; readonly text: SlackText }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] }
  | { readonly type: 'divider' };

/** The JSON posted to the webhook. */
export interface SlackMessage {
  /** The fallback for notifications and old clients (escaped; starts with the mention when there is one). */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
  readonly unfurl_links: false;
  readonly unfurl_media: false;
}

const mrkdwn = (text: string): SlackText => ({ type: 'mrkdwn', text, verbatim: true });

type Block = SlackBlock;

const ICON = { alert: ':rotating_light:', notice: ':warning:', resolved: ':white_check_mark:' } as const;

/** The section and context blocks of a firing alert. */
function firingBlocks(a: NotificationAlert): Block[] {
  const lines = [
    `${ICON[a.level]} *${levelWord(a.level)}* · ${esc(reasonText(a), 200)} · *${esc(a.title, 200)}*`,
    `*Broken loop:* ${esc(a.loop, 400)}`,
    esc(a.message, 800),
  ];
  const evidence = a.evidence.slice(0, SLACK_LIMITS.evidence);
  if (evidence.length > 0) {
    lines.push('*Evidence*');
    for (const e of evidence) lines.push(`• ${e.type === 'log' ? code(e.text, 250) : esc(e.text, 250)}`);
    if (a.evidence.length > evidence.length) lines.push(`_…and ${a.evidence.length - evidence.length} more_`);
  }
  const steps = a.nextSteps.slice(0, SLACK_LIMITS.nextSteps);
  if (steps.length > 0) {
    lines.push('*Next steps*');
    for (const s of steps) lines.push(`• ${COMMAND.test(s.trim()) ? code(s, 250) : esc(s, 250)}`);
    if (a.nextSteps.length > steps.length) lines.push(`_…and ${a.nextSteps.length - steps.length} more_`);
  }
  const context = [
    `rule *${esc(a.ruleId, 100)}*`,
    `${esc(refText(a.object), 300)}${a.key ? ` · ${esc(a.key, 100)}` : ''}`,
    `since ${slackDate(a.startsAt)}`,
  ];
  return [
    { type: 'section', text: mrkdwn(cutEscaped(lines.join('\n'), SLACK_LIMITS.sectionText)) },
    {
      type: 'context',
      elements: context.map((t) => mrkdwn(cutEscaped(t, SLACK_LIMITS.contextText))),
    },
  ];
}

/** A resolved alert: one short section. */
function resolvedBlock(a: NotificationAlert): Block {
  const text = [
    `${ICON.resolved} *RESOLVED* · *${esc(a.title, 300)}*`,
    `${esc(a.ruleId, 100)} · ${esc(refText(a.object), 300)}${a.note ? ` · ${esc(a.note, 500)}` : ''} · was firing since ${slackDate(a.startsAt)}`,
  ].join('\n');
  return { type: 'section', text: mrkdwn(cutEscaped(text, SLACK_LIMITS.sectionText)) };
}

/** Whether the delivery should carry the configured mention: it has a firing Alert. */
function wantsMention(d: Delivery): boolean {
  return d.alerts.some((a) => a.status === 'firing' && a.level === 'alert');
}

/** The Slack message for a delivery: `{ text, blocks }`, within Block Kit's limits. */
export function slackMessage(d: Delivery, mention?: string): SlackMessage {
  const title = escapeSlack(deliveryTitle(d));
  const ping = mention !== undefined && wantsMention(d) ? mention : undefined;
  const head: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: cutEscaped(title, SLACK_LIMITS.headerText), emoji: true },
    },
  ];
  if (ping) head.push({ type: 'section', text: mrkdwn(ping) });
  const tail: Block[] = [];
  if (d.dashboardUrl)
    tail.push({
      type: 'context',
      elements: [
        mrkdwn(`<${escapeSlack(d.dashboardUrl).replace(/\|/g, '%7C')}|Open the Healwatch dashboard>`),
      ],
    });
  const budget = SLACK_LIMITS.blocks - head.length - tail.length;
  const body: Block[] = [];
  let shown = 0;
  for (const [i, a] of d.alerts.entries()) {
    const blocks = [
      ...(body.length > 0 ? [{ type: 'divider' } as const] : []),
      ...(a.status === 'firing' ? firingBlocks(a) : [resolvedBlock(a)]),
    ];
    // Keep room for the "…and N more" section while alerts remain after this one.
    const reserve = i < d.alerts.length - 1 ? 1 : 0;
    if (body.length + blocks.length + reserve > budget) break;
    body.push(...blocks);
    shown++;
  }
  const rest = d.alerts.slice(shown);
  if (rest.length > 0) {
    const firing = rest.filter((a) => a.status === 'firing').length;
    const counts = [
      firing > 0 ? `${firing} firing` : '',
      firing < rest.length ? `${rest.length - firing} resolved` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const lines = [
      `*…and ${rest.length} more* (${counts}):`,
      ...rest.map((a) => `• ${esc(headline(a), 300)}`),
    ];
    body.push({ type: 'section', text: mrkdwn(cutEscaped(lines.join('\n'), SLACK_LIMITS.sectionText)) });
  }
  const text = cutEscaped(`${ping ? `${ping} ` : ''}${title}`, SLACK_LIMITS.fallbackText);
  return { text, blocks: [...head, ...body, ...tail], unfurl_links: false, unfurl_media: false };
}

/** What Slack's error answers mean (https://api.slack.com/messaging/webhooks#handling_errors). */
const SLACK_ERRORS: Record<string, string> = {
  invalid_payload: 'Slack could not read the message; please report this as a Healwatch bug',
  invalid_blocks: 'Slack rejected the message blocks; please report this as a Healwatch bug',
  invalid_blocks_format: 'Slack rejected the message blocks; please report this as a Healwatch bug',
  no_text: 'Slack found no text in the message; please report this as a Healwatch bug',
  no_service: 'the webhook URL is unknown to Slack: revoked, or mistyped',
  no_service_id: 'the webhook URL is incomplete',
  no_team: 'the Slack workspace of this webhook no longer exists',
  team_disabled: 'the Slack workspace of this webhook is disabled',
  invalid_token: 'the webhook URL is no longer valid: create a new incoming webhook',
  channel_not_found: 'the channel of this webhook no longer exists',
  channel_is_archived: 'the channel of this webhook is archived',
  action_prohibited: 'a Slack admin restricted posting to this channel',
  posting_to_general_channel_denied: 'only admins may post to this channel',
  user_not_found: 'the user of this webhook no longer exists',
  too_many_attachments: 'the message is too large',
};

/** Refines send()'s classification with Slack's answers: `ok`, error codes in the body. */
function classify(answer: HttpAnswer): DeliveryResult | undefined {
  const body = answer.text.trim();
  const meaning = SLACK_ERRORS[body];
  if (answer.status >= 200 && answer.status < 300) {
    if (meaning === undefined)
      return { ok: true, detail: `HTTP ${answer.status}: ${cut(redact(body), 100)}` };
    return { ok: false, retryable: false, error: `${httpError(answer)} (${meaning})` };
  }
  // 408, 425, 429, 5xx: send() marks them retryable and reads Retry-After.
  if (isRetryableStatus(answer.status)) return undefined;
  return {
    ok: false,
    retryable: false,
    error: meaning ? `${httpError(answer)} (${meaning})` : httpError(answer),
  };
}

/** Slack incoming webhooks: one Block Kit message per group of alerts. */
export const slackNotifier: Notifier<SlackConfig> = {
  type: 'slack',
  description: 'Slack incoming webhook: one Block Kit message per group, optional @-mention for Alerts',
  schema,
  batching: 'group',
  create(config: SlackConfig): Sender {
    registerUrlParts(config.url);
    return {
      send: (delivery, signal) =>
        send(
          {
            url: config.url,
            body: slackMessage(delivery, config.mention),
            timeoutMs: config.timeout ?? DEFAULT_TIMEOUT_MS,
            signal,
          },
          classify,
        ),
    };
  },
};
