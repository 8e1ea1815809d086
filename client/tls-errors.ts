/**
 * Which TLS failures are the configuration's, not the network's: the broker's certificate is not
 * trusted, has expired or names another host; the broker refused our certificate, our TLS
 * version or our ciphers; or the peer answered with bytes that are not TLS. Retrying changes none
 * of these, so the client fails at once with TlsHandshakeError (not retriable), as the Java
 * client does with its SslAuthenticationException, instead of retrying for the whole
 * retry budget. A reset or a timeout during the handshake stays a retriable ConnectionError (a
 * rill broker whose port does not speak TLS closes the connection on the ClientHello: that looks
 * like a broker restarting, so it is retried).
 */

/** OpenSSL's certificate verification results, as node reports them in `err.code`. */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  // checkServerIdentity's answer for a certificate of another host.
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * True for a TLS failure retrying cannot fix (see the file comment): a certificate verification
 * result, or an OpenSSL protocol error or alert (`ERR_SSL_*`: the broker refused our certificate
 * or version, or answered with bytes that are not TLS).
 */
export function isTlsRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (CERTIFICATE_ERRORS.has(code) || code.startsWith('ERR_SSL_'));
}
