import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/** A PEM certificate with its private key. */
export interface ServingCertificate {
  cert: string;
  key: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate authority that signs the simulator's serving certificates. */
export interface CertificateAuthority {
  cert: string;
  key: string;
}

/** Options of a generated serving certificate. */
export interface CertificateOptions {
  /** DNS names and IP addresses for the subjectAltName. */
  hosts: readonly string[];
  notBefore: Date;
  /** End of validity; may lie in the past to simulate an expired certificate. */
  notAfter: Date;
  commonName?: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function keyPair(): { privateKey: string; publicKey: string } {
  // node:crypto makes the key natively (fast); node-forge builds the X.509 structure, which Node 20 can
  // parse but not create.
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

function serial(): string {
  return `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
}

/** Generates the cluster CA (`kubernetes`, valid ten years from `notBefore`), as kubeadm does. */
export function generateCertificateAuthority(notBefore: Date): CertificateAuthority {
  const { privateKey, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + 10 * 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: 'kubernetes' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** Generates a serving certificate signed by the CA, with the given validity (it may be expired). */
export function generateServingCertificate(
  ca: CertificateAuthority,
  options: CertificateOptions,
): ServingCertificate {
  const { privateKey, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const caCert = forge.pki.certificateFromPem(ca.cert);
  cert.setSubject([{ name: 'commonName', value: options.commonName ?? 'kube-apiserver' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: options.hosts.map((h) =>
        IPV4.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h },
      ),
    },
  ]);
  return signWithCa(cert, ca, privateKey);
}

/** A client certificate for the kubeconfig, as kubeadm's admin.conf carries one. */
export function generateClientCertificate(
  ca: CertificateAuthority,
  options: { commonName: string; organization?: string; notBefore: Date; notAfter: Date },
): ServingCertificate {
  const { privateKey, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  cert.setSubject([
    ...(options.organization ? [{ name: 'organizationName', value: options.organization }] : []),
    { name: 'commonName', value: options.commonName },
  ]);
  cert.setIssuer(forge.pki.certificateFromPem(ca.cert).subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return signWithCa(cert, ca, privateKey);
}

function signWithCa(
  cert: forge.pki.Certificate,
  ca: CertificateAuthority,
  privateKey: string,
): ServingCertificate {
  cert.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  // Round-trip through node's parser so a malformed certificate fails here, not in a client.
  const parsed = new X509Certificate(pem);
  return {
    cert: pem,
    key: privateKey,
    notBefore: new Date(parsed.validFrom),
    notAfter: new Date(parsed.validTo),
  };
}
