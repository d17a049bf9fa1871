import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { connect, type ConnectionOptions } from 'node:tls';
import type { Connection } from '../connection.js';
import { ProbeError } from './probe-error.js';
import type { CertificateInfo } from './results.js';

function info(cert: X509Certificate, kind: CertificateInfo['kind']): CertificateInfo {
  return {
    kind,
    node: undefined,
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    sans: cert.subjectAltName,
    // Node 20 has no validToDate: parse the string form.
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    at: Date.now(),
  };
}

/**
 * Reads the API server's serving certificate from a TLS handshake (verified as the kubeconfig says;
 * an expired certificate is still read, so its expiry can be reported). Undefined for http servers.
 */
export async function probeServingCertificate(
  connection: Connection,
  timeoutMs: number,
): Promise<CertificateInfo | undefined> {
  if (connection.server.protocol !== 'https:') return undefined;
  const opts: RequestOptions = {};
  await connection.kubeConfig.applyToHTTPSOptions(opts);
  const tlsOptions: ConnectionOptions = {
    host: connection.server.hostname,
    port: Number(connection.server.port || 443),
    servername: /^\d+\.\d+\.\d+\.\d+$/.test(connection.server.hostname) ? '' : connection.server.hostname,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    // The certificate is wanted even when it no longer verifies (expired): that is what is measured.
    rejectUnauthorized: false,
  };
  return new Promise((resolve, reject) => {
    const socket = connect(tlsOptions, () => {
      const peer = socket.getPeerX509Certificate();
      socket.destroy();
      if (!peer) reject(new ProbeError('the API server presented no certificate'));
      else resolve(info(peer, 'api-serving'));
    });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new ProbeError(`TLS handshake with ${connection.server.host} timed out`)),
    );
    socket.on('error', (e: Error) =>
      reject(
        e instanceof ProbeError
          ? e
          : new ProbeError(`TLS handshake with ${connection.server.host}: ${e.message}`),
      ),
    );
  });
}

/** The kubeconfig's client certificate, when the current user authenticates with one. */
export function kubeconfigClientCertificate(connection: Connection): CertificateInfo | undefined {
  let pem = connection.clientCertificatePem();
  const file = connection.clientCertificateFile();
  if (!pem && file) pem = readFileSync(file, 'utf8');
  if (!pem) return undefined;
  try {
    return info(new X509Certificate(pem), 'kubeconfig-client');
  } catch (error) {
    throw new ProbeError(`the kubeconfig's client certificate cannot be parsed: ${(error as Error).message}`);
  }
}
