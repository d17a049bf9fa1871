/**
 * E-mail over SMTP: one message per group of alerts, with a plain-text and an HTML body, sent through
 * nodemailer's SMTP transport (one connection per message, no pool).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import type { NodemailerError, SendMailOptions, SMTPSentMessageInfo, Transporter } from 'nodemailer';
import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import { alertText, cut, deliveryText, deliveryTitle, headline, reasonText } from '../../render.js';
import { NETWORK_ERRORS } from '../../http.js';
import { redact, secretField } from '../../secret.js';
import type { Delivery, DeliveryResult, NotificationAlert, Notifier, Sender } from '../../types.js';

/**
 * Default time the SMTP server has for each wait (connecting, the greeting, each reply); the whole send
 * may take twice that.
 */
export const DEFAULT_EMAIL_TIMEOUT_MS = 30_000;
/** Longest subject line (characters, prefix included). */
export const MAX_SUBJECT = 200;
/** Alerts shown in one message; the rest are counted. */
export const MAX_ALERTS_PER_MESSAGE = 100;
/** Evidence items shown per alert. */
export const MAX_EVIDENCE = 10;
/** Recipients per receiver. */
export const MAX_RECIPIENTS = 100;

// Something@something, nothing that could break a header or split an address list.
const BARE_ADDRESS = /^[^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+$/;
// `Display Name <someone@example.com>` (no quotes, brackets, commas or control characters in the name).
const NAMED_ADDRESS = /^([^<>()[\],;:"\\\p{Cc}]*?)\s*<([^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+)>$/u;

/** The address part of `someone@example.com` or `Name <someone@example.com>`. */
function addressOf(text: string): string | undefined {
  if (BARE_ADDRESS.test(text)) return text;
  return NAMED_ADDRESS.exec(text)?.[2];
}

const address = z
  .string()
  .trim()
  .refine((s) => addressOf(s) !== undefined, {
    message: 'must be an e-mail address like ops@example.com or "Ops Team <ops@example.com>"',
  });

const smtpSchema = z
  .object({
    host: z.string().trim().min(1, 'must not be empty'),
    port: z.number().int().min(1).max(65_535).default(587),
    /** Implicit TLS from the first byte (SMTPS). Default: true on port 465. */
    secure: z.boolean().optional(),
    /** Insist on STARTTLS before anything is sent. Default: true unless host is a loopback address. */
    requireTLS: z.boolean().optional(),
    username: z.string().min(1).optional(),
    password: secretField.optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .superRefine((smtp, ctx) => {
    if (smtp.password !== undefined && smtp.username === undefined)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'is required when a password is set' });
    if (smtp.username !== undefined && smtp.password === undefined)
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'is required when a username is set' });
  });

const emailSchema = z
  .object({
    name: z.string().min(1),
    type: z.literal('email'),
    to: z
      .array(address)
      .min(1, 'needs at least one address')
      .max(MAX_RECIPIENTS, `at most ${MAX_RECIPIENTS} addresses`),
    from: address,
    subjectPrefix: z
      .string()
      .max(50)
      .refine((s) => !/[\r\n]/.test(s), { message: 'must be one line' })
      .default('[healwatch]'),
    smtp: smtpSchema,
    timeout: timeoutField.optional(),
  })
  .strict();

/** A parsed `type: email` receiver (the password, when set, is a Secret). */
export type EmailConfig = z.output<typeof emailSchema>;

/** Whether `host` names this machine (no TLS needed to reach a local relay). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** The transport settings a config stands for, defaults applied. */
export function smtpSettings(config: EmailConfig): {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  ignoreTLS: boolean;
  rejectUnauthorized: boolean;
  timeoutMs: number;
} {
  const secure = config.smtp.secure ?? config.smtp.port === 465;
  const loopback = isLoopbackHost(config.smtp.host);
  // With implicit TLS the whole session is encrypted already: STARTTLS does not apply.
  const requireTLS = !secure && (config.smtp.requireTLS ?? !loopback);
  return {
    host: config.smtp.host.replace(/^\[(.*)\]$/, '$1'),
    port: config.smtp.port,
    secure,
    requireTLS,
    // Without requireTLS, STARTTLS is used when offered, except to a relay on this machine: nothing
    // travels the network there, and local relays often offer STARTTLS with a self-signed certificate.
    ignoreTLS: !secure && !requireTLS && loopback,
    rejectUnauthorized: config.smtp.rejectUnauthorized,
    timeoutMs: config.timeout ?? DEFAULT_EMAIL_TIMEOUT_MS,
  };
}

/** `[healwatch] [ALERT] ...`: one line, at most MAX_SUBJECT characters. */
export function emailSubject(delivery: Delivery, prefix = '[healwatch]'): string {
  const title = deliveryTitle(delivery);
  const line = `${prefix ? `${prefix} ` : ''}${title}`.replace(/\s+/g, ' ').trim();
  return cut(line, MAX_SUBJECT);
}

/** The plain-text body: the delivery as text (at most MAX_ALERTS_PER_MESSAGE alerts), then the dashboard. */
export function emailText(delivery: Delivery): string {
  const shown = delivery.alerts.slice(0, MAX_ALERTS_PER_MESSAGE);
  const more = delivery.alerts.length - shown.length;
  const body =
    more === 0
      ? deliveryText(delivery, MAX_EVIDENCE)
      : [
          deliveryTitle(delivery),
          '',
          shown.map((a) => alertText(a, MAX_EVIDENCE)).join('\n\n'),
          '',
          `… and ${more} more alerts (see the dashboard).`,
        ].join('\n');
  const footer = [
    '',
    '--',
    ...(delivery.dashboardUrl ? [`Dashboard: ${delivery.dashboardUrl}`] : []),
    `Sent by Healwatch${delivery.cluster ? ` for cluster ${delivery.cluster}` : ''}.`,
  ];
  return [body, ...footer].join('\n');
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const COLORS = { alert: '#b91c1c', notice: '#b45309', resolved: '#15803d' } as const;

function alertHtml(a: NotificationAlert): string {
  const color = a.status === 'resolved' ? COLORS.resolved : COLORS[a.level];
  const parts = [
    `<div style="border-left:4px solid ${color};padding:4px 0 4px 12px;margin:16px 0">`,
    `<h3 style="margin:0 0 4px 0;color:${color}">${escapeHtml(headline(a))}</h3>`,
    `<p style="margin:0 0 8px 0;color:#555">${escapeHtml(
      `${reasonText(a)} · since ${new Date(a.startsAt).toISOString()}`,
    )}</p>`,
  ];
  if (a.status === 'firing') {
    parts.push(
      `<p style="margin:0 0 8px 0"><strong>Loop broken:</strong> ${escapeHtml(a.loop)}</p>`,
      `<p style="margin:0 0 8px 0">${escapeHtml(a.message)}</p>`,
    );
    const evidence = a.evidence.slice(0, MAX_EVIDENCE);
    if (evidence.length > 0)
      parts.push(
        '<p style="margin:0"><strong>Evidence</strong></p>',
        `<ul style="margin:4px 0 8px 0">${evidence.map((e) => `<li>${escapeHtml(e.text)}</li>`).join('')}</ul>`,
      );
    if (a.nextSteps.length > 0)
      parts.push(
        '<p style="margin:0"><strong>Next steps</strong></p>',
        `<ul style="margin:4px 0 8px 0">${a.nextSteps.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>`,
      );
  }
  parts.push('</div>');
  return parts.join('\n');
}

/** The HTML body: the same content as the text, every string from the cluster escaped. */
export function emailHtml(delivery: Delivery): string {
  const shown = delivery.alerts.slice(0, MAX_ALERTS_PER_MESSAGE);
  const more = delivery.alerts.length - shown.length;
  const url = delivery.dashboardUrl;
  const link =
    url && /^https?:\/\//i.test(url)
      ? `<p><a href="${escapeHtml(url)}">Open the Healwatch dashboard</a></p>`
      : '';
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#111">',
    `<h2 style="margin:0 0 8px 0">${escapeHtml(deliveryTitle(delivery))}</h2>`,
    ...shown.map(alertHtml),
    ...(more > 0 ? [`<p>… and ${more} more alerts (see the dashboard).</p>`] : []),
    link,
    `<p style="color:#888;font-size:12px">Sent by Healwatch${
      delivery.cluster ? ` for cluster ${escapeHtml(delivery.cluster)}` : ''
    }.</p>`,
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * `<healwatch.KEY@domain-of-from>`: the same for every attempt at one delivery, so a copy sent again after
 * a crash shows up as the same message (mail clients and archives drop or thread duplicates by it). A key
 * with characters not allowed in a Message-ID is replaced by its SHA-256.
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const safe = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(idempotencyKey) && idempotencyKey.length <= 100;
  const id = safe ? idempotencyKey : createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
  const domain = (addressOf(from) ?? from).split('@').pop() ?? 'healwatch.invalid';
  const right = /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'healwatch.invalid';
  return `<healwatch.${id}@${right}>`;
}

/** Text on one line, at most `max` characters. */
function oneLine(text: string, max = 300): string {
  return cut(text.replace(/\s+/g, ' ').trim(), max);
}

/** The SMTP step that failed, without arguments (AUTH PLAIN carries the credentials). */
function stepName(e: NodemailerError): string {
  const m = /^(AUTH [A-Z0-9-]+|RCPT TO|MAIL FROM|[A-Z]+)/.exec(e.command ?? '');
  const step = m?.[1] ?? '';
  // nodemailer's names for the greeting and for its own checks.
  return step === 'CONN' ? 'connect' : step === 'API' ? '' : step;
}

const NETWORK: Record<string, string> = { ...NETWORK_ERRORS, EPIPE: 'connection closed by the server' };

/** Node's TLS errors (certificate checks, handshake) arrive as ESOCKET with the original code. */
function isTlsError(e: NodemailerError): boolean {
  const code = `${e.originalCode ?? ''} ${e.code ?? ''}`;
  return (
    e.code === 'ETLS' ||
    /CERT|SSL|TLS|SIGNATURE|ISSUER/.test(code) ||
    /SSL routines|certificate/i.test(e.message ?? '')
  );
}

/** Which wait ran out. */
function timeoutText(e: NodemailerError, where: string): string {
  switch (e.timeoutType) {
    case 'CONNECT_TIMEOUT':
      return `connection timed out (${where})`;
    case 'GREETING_TIMEOUT':
      return `no SMTP greeting from ${where} in time`;
    case 'UPGRADE_TIMEOUT':
      return `TLS with ${where} failed: the handshake timed out`;
    default:
      return `${where} stopped answering`;
  }
}

/** An OpenSSL message reduced to its reason (`wrong version number`). */
function tlsReason(message: string): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;
}

/**
 * Turns a nodemailer error into a result. With an SMTP reply: 4xx (and 503) retryable, other 5xx not
 * (535 is a rejected login). Without one: network errors, TLS failures and timeouts retryable; missing
 * credentials and a message nodemailer cannot send not. The text names the reply code, the SMTP step and
 * the server's reply, never the command's arguments, and is run through `redact`.
 */
export function classifySmtpError(
  error: unknown,
  where: string,
  timeout: AbortSignal,
  signal?: AbortSignal,
): DeliveryResult {
  const fail = (retryable: boolean, text: string): DeliveryResult => ({
    ok: false,
    retryable,
    error: redact(text),
  });
  if (signal?.aborted) return fail(true, 'aborted (shutting down)');
  if (timeout.aborted) return fail(true, `no answer from ${where} before the timeout`);
  const e = (error ?? {}) as NodemailerError;
  const message = oneLine(e.message ?? String(error));
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const step = stepName(e);
  if (code !== undefined) {
    const reply = oneLine((e.response ?? '').replace(new RegExp(`^${code}[ -]`), ''));
    if (e.code === 'ETLS' || step === 'STARTTLS')
      return fail(
        true,
        `TLS with ${where} failed: STARTTLS answered SMTP ${code}${reply ? `: ${reply}` : ''}`,
      );
    const text = `SMTP ${code} from ${where}${step ? ` on ${step}` : ''}${reply ? `: ${reply}` : ''}`;
    if (e.code === 'EAUTH' && code >= 500) return fail(false, `authentication failed: ${text}`);
    if (code >= 500 && code < 600 && code !== 503) return fail(false, text);
    return fail(true, text);
  }
  if (isTlsError(e)) return fail(true, `TLS with ${where} failed: ${tlsReason(message)}`);
  switch (e.code) {
    case 'EAUTH':
    case 'ENOAUTH':
      return fail(false, `authentication failed with ${where}: ${message}`);
    case 'ECONFIG':
    case 'EENVELOPE':
    case 'EMESSAGE':
    case 'EMAXRECIPIENTS':
      return fail(false, `message not accepted by ${where}: ${message}`);
    default: {
      if (e.code === 'ETIMEDOUT') return fail(true, timeoutText(e, where));
      const os = e.originalCode ?? e.code;
      const known = os !== undefined ? NETWORK[os] : undefined;
      if (known) return fail(true, `${known} (${where})`);
      return fail(true, `sending to ${where} failed: ${message}`);
    }
  }
}

class EmailSender implements Sender {
  readonly #config: EmailConfig;
  readonly #transport: Transporter<SMTPSentMessageInfo>;
  readonly #timeoutMs: number;
  readonly #where: string;

  constructor(config: EmailConfig) {
    this.#config = config;
    const s = smtpSettings(config);
    this.#timeoutMs = s.timeoutMs;
    this.#where = `${s.host}:${s.port}`;
    this.#transport = createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: s.requireTLS,
      ignoreTLS: s.ignoreTLS,
      tls: { rejectUnauthorized: s.rejectUnauthorized },
      connectionTimeout: s.timeoutMs,
      greetingTimeout: s.timeoutMs,
      socketTimeout: s.timeoutMs,
      dnsTimeout: s.timeoutMs,
      logger: false,
      debug: false,
    });
  }

  async send(delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult> {
    // Each step has its own timeout (which names the step); this bounds the whole conversation.
    const timeout = AbortSignal.timeout(2 * this.#timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const { smtp } = this.#config;
    const message: SendMailOptions = {
      from: this.#config.from,
      to: [...this.#config.to],
      subject: emailSubject(delivery, this.#config.subjectPrefix),
      text: emailText(delivery),
      html: emailHtml(delivery),
      date: new Date(delivery.now),
      messageId: messageIdFor(delivery.idempotencyKey, this.#config.from),
      headers: {
        'X-Healwatch-Idempotency-Key': delivery.idempotencyKey,
        // RFC 3834: no vacation replies or other automatic answers to an alert.
        'Auto-Submitted': 'auto-generated',
      },
      // The password is revealed only now, for this message.
      ...(smtp.username !== undefined && smtp.password !== undefined
        ? { auth: { user: smtp.username, pass: smtp.password.reveal() } }
        : {}),
      signal: combined,
    };
    let info: SMTPSentMessageInfo;
    try {
      info = await this.#transport.sendMail(message);
    } catch (error) {
      return classifySmtpError(error, this.#where, timeout, signal);
    }
    const { accepted, rejected } = info;
    const reply = cut(info.response.replace(/\s+/g, ' ').trim(), 200);
    if (rejected.length > 0)
      return {
        ok: true,
        detail: redact(
          `accepted for ${accepted.length} of ${accepted.length + rejected.length} recipients (rejected: ${rejected.join(', ')}); ${reply}`,
        ),
      };
    return { ok: true, detail: redact(reply) };
  }
}

/** `type: email`: one message per group of alerts, over SMTP. */
export const emailNotifier: Notifier<EmailConfig> = {
  type: 'email',
  description: 'E-mail over SMTP: one message per group of alerts, plain text and HTML',
  schema: emailSchema,
  batching: 'group',
  create: (config) => new EmailSender(config),
};
