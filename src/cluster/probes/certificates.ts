import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ProbeError } from './probe-error.js';
import { stamp, type ProbeContext } from './request.js';
import type { CertificateInfo } from './results.js';

/** Extracts the fields of an X.509 certificate that the monitor reports. */
export function describeCertificate(
  cert: X509Certificate,
  kind: CertificateInfo['kind'],
  source: CertificateInfo['source'],
  stamps: { at: number; serverAt: number },
): CertificateInfo {
  // Node 20 has no validToDate: parse the string form.
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  if (Number.isNaN(notAfter))
    throw new ProbeError(`${kind} certificate: unreadable notAfter "${cert.validTo}"`);
  return {
    kind,
    source,
    node: undefined,
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    sans: cert.subjectAltName ? cert.subjectAltName.split(/,\s*/) : [],
    notBefore: Number.isNaN(notBefore) ? undefined : notBefore,
    notAfter,
    isTrusted: undefined,
    verifyError: undefined,
    ...stamps,
  };
}

/**
 * Reads the API server's serving certificate from a TLS handshake, with the CA (and client
 * certificate) the kubeconfig gives. An expired or untrusted certificate is still read, with
 * `isTrusted: false` and the reason, because its expiry is what is measured. Undefined for http.
 */
export async function probeServingCertificate(ctx: ProbeContext): Promise<CertificateInfo | undefined> {
  const server = ctx.connection.server;
  if (server.protocol !== 'https:') return undefined;
  const opts: RequestOptions = {};
  await ctx.connection.kubeConfig.applyToHTTPSOptions(opts);
  // URL keeps brackets around IPv6 literals; tls.connect wants the bare address.
  const host = server.hostname.replace(/^\[(.*)\]$/, '$1');
  const servername = typeof opts.servername === 'string' && opts.servername ? opts.servername : host;
  const tlsOptions: ConnectionOptions = {
    host,
    port: Number(server.port || 443),
    // SNI must be a host name; Node warns about (and RFC 6066 forbids) an IP address.
    ...(isIP(servername) ? {} : { servername }),
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    rejectUnauthorized: false,
  };
  const what = `TLS handshake with ${server.host}`;
  return new Promise<CertificateInfo>((resolve, reject) => {
    let socket: TLSSocket | undefined;
    let isDone = false;
    const finish = (error: Error | undefined, result?: CertificateInfo): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onStop);
      socket?.destroy();
      if (error) reject(error instanceof ProbeError ? error : new ProbeError(`${what}: ${error.message}`));
      else if (result) resolve(result);
    };
    const onStop = (): void => finish(new ProbeError(`${what}: the prober stopped`));
    const timer = setTimeout(
      () => finish(new ProbeError(`${what}: no answer within ${ctx.timeoutMs} ms`)),
      ctx.timeoutMs,
    );
    ctx.signal?.addEventListener('abort', onStop, { once: true });
    if (ctx.signal?.aborted) {
      onStop();
      return;
    }
    try {
      // Bad PEM in the kubeconfig makes connect() throw at once rather than emit an error.
      const tls = connect(tlsOptions, () => {
        try {
          finish(undefined, peerCertificate(tls, what, ctx));
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      });
      socket = tls;
      tls.on('error', (error: Error) => finish(error));
    } catch (error) {
      finish(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/** The peer certificate of a finished handshake, with whether it verified and why not. */
function peerCertificate(socket: TLSSocket, what: string, ctx: ProbeContext): CertificateInfo {
  const peer = socket.getPeerX509Certificate();
  if (!peer) throw new ProbeError(`${what}: the server presented no certificate`);
  const info = describeCertificate(peer, 'api-serving', 'tls-handshake', stamp(ctx));
  info.isTrusted = socket.authorized;
  const reason = socket.authorizationError as Error | string | null | undefined;
  if (!socket.authorized) info.verifyError = reason instanceof Error ? reason.message : (reason ?? undefined);
  return info;
}

/**
 * The kubeconfig's client certificate (inline `client-certificate-data` or a `client-certificate`
 * file, re-read each time because tools rotate it on disk), when the current user authenticates with
 * one; undefined otherwise.
 */
export async function probeKubeconfigCertificate(ctx: ProbeContext): Promise<CertificateInfo | undefined> {
  let pem = ctx.connection.clientCertificatePem();
  const file = ctx.connection.clientCertificateFile();
  if (!pem && file) {
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      throw new ProbeError(`the kubeconfig's client certificate ${file}: ${(error as Error).message}`);
    }
  }
  if (!pem) return undefined;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw new ProbeError(`the kubeconfig's client certificate cannot be parsed: ${(error as Error).message}`);
  }
  return describeCertificate(cert, 'kubeconfig-client', 'kubeconfig', stamp(ctx));
}
