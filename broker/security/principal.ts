/**
 * Who a connection is: Kafka's KafkaPrincipal (`User:ANONYMOUS`, `User:CN=app,O=acme`), fixed
 * once when the connection is accepted (after its TLS handshake, on an SSL listener) and read by
 * handlers from `conn.principal` (broker/context.ts, ConnectionInfo).
 *
 * A `PrincipalBuilder` turns what the listener learned about the peer into a principal, as
 * Kafka's `principal.builder.class` does. The default one reads the client certificate's subject
 * when the handshake verified one and says ANONYMOUS otherwise; SASL will bring its own builder
 * (the authenticated SASL name) without reshaping the handlers. Nothing authorizes on the
 * principal yet: ACLs and quotas come later.
 */
import type { X509Certificate } from 'node:crypto';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL';
export type ListenerName = 'rill' | 'kafka';

export class KafkaPrincipal {
  constructor(
    /** Always 'User' for the built-in builders, as Kafka's. */
    readonly principalType: string,
    readonly name: string,
  ) {}

  /** `User:CN=app,O=acme`: the form Kafka's ACLs and logs use. */
  toString(): string {
    return `${this.principalType}:${this.name}`;
  }
}

export const ANONYMOUS_PRINCIPAL = new KafkaPrincipal('User', 'ANONYMOUS');

/** What a listener knows about a freshly accepted (and, on SSL, handshaken) connection. */
export interface AuthenticationContext {
  readonly listener: ListenerName;
  readonly securityProtocol: SecurityProtocol;
  readonly clientHost: string;
  readonly clientPort: number;
  /** The client's certificate when the handshake verified it against the truststore; else null. */
  readonly peerCertificate: X509Certificate | null;
}

export interface PrincipalBuilder {
  /** Called once per connection; must not throw (a throw is logged and closes that connection). */
  build(context: AuthenticationContext): KafkaPrincipal;
}

/** Kafka's DefaultKafkaPrincipalBuilder without `ssl.principal.mapping.rules`. */
export const defaultPrincipalBuilder: PrincipalBuilder = {
  build(context) {
    if (context.securityProtocol === 'SSL' && context.peerCertificate !== null) {
      return new KafkaPrincipal('User', subjectDn(context.peerCertificate));
    }
    return ANONYMOUS_PRINCIPAL;
  },
};

/**
 * The subject as an RFC 2253 string, as Java's X500Principal.getName() gives it to Kafka: the
 * most specific RDN first (`CN=app,O=acme,C=US`). Node lists the RDNs in certificate order, one
 * per line, with RFC 2253 escapes already applied (`O=acme\, inc`), so reversing the lines is
 * the whole conversion.
 */
export function subjectDn(cert: X509Certificate): string {
  return cert.subject.split('\n').filter((rdn) => rdn.length > 0).reverse().join(',');
}
