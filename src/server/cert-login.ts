// The user name of a TLS client certificate, for SASL EXTERNAL (RabbitMQ's
// rabbitmq_auth_mechanism_ssl): the subject's CN, or the whole subject DN written as RabbitMQ
// writes it (RFC 4514 order: the last RDN of the certificate first, `CN=alice,O=acme,C=US`).

import { X509Certificate } from 'node:crypto';
import type { CertLoginFrom } from '../config/config.js';

/** What a TLS socket tells about its peer (node's TLSSocket). */
export interface PeerCertificateSource {
  readonly authorized?: boolean;
  getPeerX509Certificate?(): X509Certificate | undefined;
}

/** node writes the subject one `key=value` per line, in certificate order, values already escaped (`O=acme\, inc`). */
function rdns(subject: string): [string, string][] {
  return subject
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const eq = l.indexOf('=');
      return [l.slice(0, eq), l.slice(eq + 1)];
    });
}

export function certUserName(cert: X509Certificate, from: CertLoginFrom): string | null {
  const parts = rdns(cert.subject);
  if (from === 'common_name') {
    // RabbitMQ takes the first CN when there are several.
    return parts.find(([k]) => k === 'CN')?.[1] ?? null;
  }
  if (parts.length === 0) return null;
  return parts
    .reverse()
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The name EXTERNAL logs in as: only for a peer whose certificate the TLS handshake verified. */
export function verifiedPeerName(socket: PeerCertificateSource, from: CertLoginFrom): string | null {
  if (socket.authorized !== true || socket.getPeerX509Certificate === undefined) return null;
  const cert = socket.getPeerX509Certificate();
  return cert === undefined ? null : certUserName(cert, from);
}
