import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import {
  emailNotifier,
  emailSubject,
  isLoopbackHost,
  messageIdFor,
  smtpSettings,
  type EmailConfig,
} from '../../src/notify/receivers/email/index.js';
import { deliveryTitle } from '../../src/notify/render.js';
import type { DeliveryResult } from '../../src/notify/types.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

// ---------------------------------------------------------------------------------------------------------
// A real SMTP server on 127.0.0.1 (smtp-server), and just enough MIME decoding to read what it received.

interface Received {
  readonly from: string;
  readonly to: string[];
  readonly user: unknown;
  /** Whether the session was encrypted (implicit TLS or STARTTLS). */
  readonly secure: boolean;
  readonly raw: string;
}

interface LocalSmtp {
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

const servers: LocalSmtp[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function startSmtp(options: SMTPServerOptions = {}): Promise<LocalSmtp> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
          secure: session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const local: LocalSmtp = {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  servers.push(local);
  return local;
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`). */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => `%${h}`),
            'utf8',
          )
            .toString('utf8')
            .replace(/(%[0-9A-F]{2})+/gi, (s) => decodeURIComponent(s)),
    );
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

interface Part {
  readonly headers: Map<string, string>;
  readonly body: string;
}

function parsePart(raw: string): Part {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(split + 4) };
}

/** The part's body decoded, with \n line ends. */
function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const body =
    encoding === 'base64'
      ? Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(part.body)
        : part.body;
  return body.replace(/\r\n/g, '\n');
}

/** The received message: decoded headers, and its text/plain and text/html parts. */
function readMessage(raw: string): { headers: Map<string, string>; text: string; html: string } {
  const top = parsePart(raw);
  const headers = new Map([...top.headers].map(([k, v]) => [k, decodeWords(v)]));
  const boundary = /boundary="?([^";]+)"?/.exec(top.headers.get('content-type') ?? '')?.[1];
  assert.ok(boundary, 'expected a multipart message');
  const parts = top.body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((p) => parsePart(p.replace(/^\r\n/, '')));
  const find = (type: string): string => {
    const part = parts.find((p) => (p.headers.get('content-type') ?? '').startsWith(type));
    assert.ok(part, `expected a ${type} part`);
    return decodeBody(part);
  };
  return { headers, text: find('text/plain'), html: find('text/html') };
}

// ---------------------------------------------------------------------------------------------------------

/** Parses a receiver config as the config loader would (defaults applied, secrets resolved). */
function config(over: Record<string, unknown> = {}, smtp: Record<string, unknown> = {}): EmailConfig {
  return emailNotifier.schema.parse({
    name: 'ops-mail',
    type: 'email',
    to: ['oncall@example.com', 'Platform Team <platform@example.com>'],
    from: 'Healwatch <healwatch@example.com>',
    ...over,
    smtp: { host: '127.0.0.1', ...smtp },
  });
}

function failed(result: DeliveryResult): { retryable: boolean; error: string } {
  assert.equal(result.ok, false, `expected a failure, got ${JSON.stringify(result)}`);
  if (result.ok) throw new Error('unreachable');
  return result;
}

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('email receiver: what is sent', () => {
  test('a message arrives with subject, envelope, text and HTML-escaped body', async () => {
    const smtp = await startSmtp();
    const sender = emailNotifier.create(config({}, { port: smtp.port }));
    const alert = sampleAlert({ message: 'Scheduler said <script>alert("x")</script> & stopped.' });
    const delivery = sampleDelivery([alert], { dashboardUrl: 'https://healwatch.example/?a=1&b=2' });

    const result = await sender.send(delivery);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(smtp.received.length, 1);
    const got = smtp.received[0]!;
    assert.equal(got.from, 'healwatch@example.com');
    assert.deepEqual(got.to, ['oncall@example.com', 'platform@example.com']);

    const m = readMessage(got.raw);
    assert.equal(m.headers.get('subject'), `[healwatch] ${deliveryTitle(delivery)}`);
    assert.match(m.headers.get('from')!, /healwatch@example\.com/);
    assert.match(m.headers.get('to')!, /oncall@example\.com.*platform@example\.com/);
    assert.equal(m.headers.get('x-healwatch-idempotency-key'), 'hw-test-0001');
    assert.equal(m.headers.get('message-id'), '<healwatch.hw-test-0001@example.com>');
    assert.equal(m.headers.get('auto-submitted'), 'auto-generated');

    // Text: level, loop, message, evidence and next steps, as they are.
    assert.match(m.text, /^\[ALERT\] kube-scheduler is not running/);
    assert.ok(m.text.includes(`Loop: ${alert.loop}`));
    assert.ok(m.text.includes('<script>alert("x")</script>'));
    assert.ok(m.text.includes('Evidence:\n  - Lease kube-system/kube-scheduler renewed 95 s ago'));
    assert.ok(
      m.text.includes('Next steps:\n  - kubectl -n kube-system get pods -l component=kube-scheduler'),
    );
    assert.ok(m.text.includes('Dashboard: https://healwatch.example/?a=1&b=2'));

    // HTML: the same content, every cluster string escaped.
    assert.ok(!m.html.includes('<script>'), 'the alert message must be escaped in the HTML body');
    assert.ok(m.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; stopped.'));
    assert.ok(m.html.includes('Loop broken:'));
    assert.ok(m.html.includes('Lease kube-system/kube-scheduler renewed 95 s ago'));
    assert.ok(m.html.includes('<code>kubectl -n kube-system logs kube-scheduler-sim-control-plane</code>'));
    assert.ok(m.html.includes('href="https://healwatch.example/?a=1&amp;b=2"'));
  });

  test('a group of alerts goes out as one message; a re-send keeps the Message-ID', async () => {
    const smtp = await startSmtp();
    const sender = emailNotifier.create(config({ subjectPrefix: '[prod]' }, { port: smtp.port }));
    const delivery = sampleDelivery([sampleAlert(), sampleNotice()], {
      groupKey: 'all',
      groupLabels: {},
      idempotencyKey: 'key with spaces/and:colons',
    });
    assert.equal((await sender.send(delivery)).ok, true);
    assert.equal((await sender.send(delivery)).ok, true);
    assert.equal(smtp.received.length, 2);
    const [first, second] = smtp.received.map((r) => readMessage(r.raw));
    assert.equal(first!.headers.get('subject'), '[prod] [ALERT] 2 firing on sim');
    assert.ok(first!.text.includes('[NOTICE] Container app of shop/cart-7d9f is crash-looping'));
    assert.ok(first!.html.includes('panic: cannot connect to &lt;db&gt; &amp; retry'));
    assert.ok(!first!.html.includes('<db>'));
    assert.equal(first!.headers.get('x-healwatch-idempotency-key'), 'key with spaces/and:colons');
    assert.match(first!.headers.get('message-id')!, /^<healwatch\.[0-9a-f]{40}@example\.com>$/);
    assert.equal(first!.headers.get('message-id'), second!.headers.get('message-id'));
  });

  test('the subject is one line of at most 200 characters', () => {
    const long = sampleDelivery([sampleAlert({ title: `line one\nline two ${'x'.repeat(400)}` })]);
    const subject = emailSubject(long, '[healwatch]');
    assert.equal(subject.length, 200);
    assert.ok(!/[\r\n]/.test(subject));
    assert.ok(subject.startsWith('[healwatch] [ALERT] line one line two x'));
    assert.ok(subject.endsWith('…'));
  });

  test('Message-ID is derived from the idempotency key only', () => {
    assert.equal(messageIdFor('hw-1', 'a@example.org'), '<healwatch.hw-1@example.org>');
    assert.equal(messageIdFor('x y', 'a@b.example'), messageIdFor('x y', 'a@b.example'));
    assert.notEqual(messageIdFor('x y', 'a@b.example'), messageIdFor('x z', 'a@b.example'));
  });
});

describe('email receiver: authentication', () => {
  test('logs in with username and password', async () => {
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'healwatch' && auth.password === 'right-password-1')
          callback(null, { user: 'healwatch' });
        else callback(new Error('Invalid username or password'));
      },
    });
    const sender = emailNotifier.create(
      config({}, { port: smtp.port, username: 'healwatch', password: 'right-password-1' }),
    );
    const result = await sender.send(sampleDelivery());
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(smtp.received[0]?.user, 'healwatch');
  });

  test('a rejected login is not retryable and never shows the password', async () => {
    const canary = 'CANARY-SECRET-123';
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(_auth, _session, callback) {
        callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      },
    });
    const cfg = config({}, { port: smtp.port, username: 'healwatch', password: canary });
    const sender = emailNotifier.create(cfg);
    const result = await sender.send(sampleDelivery());
    const f = failed(result);
    assert.equal(f.retryable, false);
    assert.match(f.error, /535/);
    assert.match(f.error, /authentication failed/);
    assert.match(f.error, /Authentication credentials invalid/);
    const base64 = Buffer.from(canary).toString('base64');
    for (const text of [
      f.error,
      JSON.stringify(result),
      inspect(result),
      JSON.stringify(cfg),
      inspect(cfg),
    ]) {
      assert.ok(!text.includes(canary), `the password leaked: ${text}`);
      assert.ok(!text.includes(base64), `the password leaked (base64): ${text}`);
    }
    assert.equal(smtp.received.length, 0);
  });
});

describe('email receiver: classification', () => {
  const rcptServer = (code: number, text: string) =>
    startSmtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error(text), { responseCode: code }));
      },
    });

  test('451 on RCPT TO is retryable and names the code and reply', async () => {
    const smtp = await rcptServer(451, 'Temporary local problem, try again');
    const f = failed(await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery()));
    assert.equal(f.retryable, true);
    assert.match(f.error, /SMTP 451/);
    assert.match(f.error, /RCPT TO/);
    assert.match(f.error, /Temporary local problem/);
  });

  test('550 on RCPT TO is not retryable', async () => {
    const smtp = await rcptServer(550, 'No such user here');
    const f = failed(await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery()));
    assert.equal(f.retryable, false);
    assert.match(f.error, /SMTP 550/);
    assert.match(f.error, /No such user here/);
  });

  test('one recipient rejected, the other accepted: delivered, and the detail says so', async () => {
    const smtp = await startSmtp({
      onRcptTo(address, _session, callback) {
        if (address.address === 'platform@example.com')
          callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
        else callback();
      },
    });
    const result = await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery());
    assert.equal(result.ok, true);
    assert.match(result.ok ? (result.detail ?? '') : '', /1 of 2 recipients.*platform@example\.com/);
    assert.deepEqual(smtp.received[0]?.to, ['oncall@example.com']);
  });

  test('4xx on DATA is retryable, 554 is not', async () => {
    for (const [code, retryable] of [
      [452, true],
      [554, false],
    ] as const) {
      const smtp = await startSmtp({
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => callback(Object.assign(new Error('Not now'), { responseCode: code })));
        },
      });
      const f = failed(await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery()));
      assert.equal(f.retryable, retryable, `${code}: ${f.error}`);
      assert.match(f.error, new RegExp(`SMTP ${code}`));
    }
  });

  test('a closed port is retryable', async () => {
    const port = await closedPort();
    const f = failed(await emailNotifier.create(config({}, { port })).send(sampleDelivery()));
    assert.equal(f.retryable, true);
    assert.match(f.error, /connection refused/);
  });

  test('a server that never answers times out, retryable', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const f = failed(
        await emailNotifier.create(config({ timeout: '500ms' }, { port })).send(sampleDelivery()),
      );
      assert.equal(f.retryable, true);
      // The greeting wait and the socket's idle wait are both the timeout: either may run out first.
      assert.match(f.error, /no SMTP greeting|stopped answering/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('shutting down aborts the send, retryable', async () => {
    const smtp = await startSmtp();
    const f = failed(
      await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery(), AbortSignal.abort()),
    );
    assert.equal(f.retryable, true);
    assert.match(f.error, /aborted/);
    assert.equal(smtp.received.length, 0);
  });

  test('requireTLS against a server without STARTTLS fails retryable and sends nothing', async () => {
    const smtp = await startSmtp();
    const f = failed(
      await emailNotifier.create(config({}, { port: smtp.port, requireTLS: true })).send(sampleDelivery()),
    );
    assert.equal(f.retryable, true);
    assert.match(f.error, /TLS/);
    assert.equal(smtp.received.length, 0);
  });

  test('STARTTLS: skipped for a loopback relay, required elsewhere (and then the certificate is checked)', async () => {
    // smtp-server offers STARTTLS with its built-in self-signed (and expired) certificate.
    const smtp = await startSmtp({ disabledCommands: [] });
    const local = await emailNotifier.create(config({}, { port: smtp.port })).send(sampleDelivery());
    assert.equal(local.ok, true, JSON.stringify(local));
    assert.equal(smtp.received[0]?.secure, false);
    const strict = failed(
      await emailNotifier.create(config({}, { port: smtp.port, requireTLS: true })).send(sampleDelivery()),
    );
    assert.equal(strict.retryable, true);
    assert.match(strict.error, /TLS .* failed: certificate/);
    const lax = await emailNotifier
      .create(config({}, { port: smtp.port, requireTLS: true, rejectUnauthorized: false }))
      .send(sampleDelivery());
    assert.equal(lax.ok, true, JSON.stringify(lax));
    assert.equal(smtp.received.length, 2);
    assert.equal(smtp.received[1]?.secure, true);
  });

  test('implicit TLS: an untrusted certificate fails retryable; rejectUnauthorized: false accepts it', async () => {
    // smtp-server's built-in self-signed certificate.
    const smtp = await startSmtp({ secure: true });
    const strict = failed(
      await emailNotifier.create(config({}, { port: smtp.port, secure: true })).send(sampleDelivery()),
    );
    assert.equal(strict.retryable, true);
    assert.match(strict.error, /certificate/i);
    const lax = await emailNotifier
      .create(config({}, { port: smtp.port, secure: true, rejectUnauthorized: false }))
      .send(sampleDelivery());
    assert.equal(lax.ok, true, JSON.stringify(lax));
    assert.equal(smtp.received.length, 1);
    assert.equal(smtp.received[0]?.secure, true);
  });
});

describe('email receiver: configuration', () => {
  test('defaults: port 587, STARTTLS required unless loopback, implicit TLS on 465', () => {
    const remote = config({}, { host: 'smtp.example.com' });
    assert.equal(remote.subjectPrefix, '[healwatch]');
    assert.deepEqual(smtpSettings(remote), {
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      requireTLS: true,
      ignoreTLS: false,
      rejectUnauthorized: true,
      timeoutMs: 30_000,
    });
    assert.equal(smtpSettings(config({}, { host: 'localhost' })).requireTLS, false);
    assert.equal(smtpSettings(config({}, { host: 'localhost' })).ignoreTLS, true);
    assert.equal(smtpSettings(config({}, { host: '[::1]' })).host, '::1');
    assert.equal(smtpSettings(config({}, { host: 'smtp.example.com', requireTLS: false })).requireTLS, false);
    const smtps = smtpSettings(config({ timeout: '5s' }, { host: 'smtp.example.com', port: 465 }));
    assert.equal(smtps.secure, true);
    assert.equal(smtps.requireTLS, false);
    assert.equal(smtps.timeoutMs, 5000);
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['smtp.example.com', '10.0.0.1', '::2', 'localhost.example.com'])
      assert.ok(!isLoopbackHost(h), h);
  });

  test('the password may come from a file or an environment variable and prints as <secret>', () => {
    process.env.HW_TEST_SMTP_PASSWORD = 'from-env-password';
    const cfg = config({}, { username: 'u', password: { env: 'HW_TEST_SMTP_PASSWORD' } });
    assert.equal(cfg.smtp.password?.reveal(), 'from-env-password');
    assert.equal(cfg.smtp.password?.source, 'env HW_TEST_SMTP_PASSWORD');
    assert.ok(!JSON.stringify(cfg).includes('from-env-password'));
  });

  test('rejects bad addresses, unknown fields and half-configured login', () => {
    const bad: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{ to: [] }, {}, /at least one/],
      [{ to: ['not-an-address'] }, {}, /e-mail address/],
      [{ to: ['a@b.example, c@d.example'] }, {}, /e-mail address/],
      [{ from: 'evil@example.com\r\nBcc: x@y.example' }, {}, /e-mail address/],
      [{ subjectPrefix: 'two\nlines' }, {}, /one line/],
      [{ cc: ['a@b.example'] }, {}, /cc/],
      [{}, { tls: true }, /tls/],
      [{}, { port: 0 }, /port/],
      [{}, { username: 'u' }, /password/],
      [{}, { password: 'p-1234' }, /username/],
      [{}, { password: { file: '/nonexistent/healwatch-smtp-password' } }, /cannot read secret file/],
    ];
    for (const [over, smtp, expected] of bad) {
      const result = emailNotifier.schema.safeParse({
        name: 'm',
        type: 'email',
        to: ['a@example.com'],
        from: 'b@example.com',
        ...over,
        smtp: { host: 'smtp.example.com', ...smtp },
      });
      assert.equal(result.success, false, JSON.stringify({ over, smtp }));
      const text = JSON.stringify(result.error?.issues);
      assert.match(text, expected, text);
    }
  });
});
