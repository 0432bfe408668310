/**
 * HTTPS served by the node itself (`TLS_CERT_FILE`, `TLS_KEY_FILE`): hospital intranets often have no
 * TLS-terminating proxy, and a browser gives a page camera and microphone only in a secure context
 * (https://, or localhost). Both files are read and checked when the configuration loads, so a wrong
 * path, a certificate that is not PEM or a key that does not belong to it stops the start with a
 * sentence, not a handshake failure in every browser.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The certificate's subject and expiry, for the start-up log. */
  subject: string;
  validTo: string;
}

/** Reads and checks the pair; throws an Error whose message names the variable at fault. */
export function readTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (variable: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
  };
  const cert = read('TLS_CERT_FILE', certFile);
  const key = read('TLS_KEY_FILE', keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`TLS_CERT_FILE: ${certFile} is not a PEM certificate`, { cause: error });
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new Error(`TLS_KEY_FILE: ${keyFile} is not a PEM private key`, { cause: error });
  }
  if (!matches) throw new Error(`TLS_KEY_FILE: ${keyFile} does not belong to the certificate in TLS_CERT_FILE`);
  if (Date.parse(x509.validTo) < Date.now()) throw new Error(`TLS_CERT_FILE: the certificate expired on ${x509.validTo}`);
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
}
