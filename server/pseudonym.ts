/**
 * Log lines name people by pseudonym, not by their real-name identity (`sub`, a staff or patient id)
 * or display name: logs are read and shipped far more widely than the case record. The same identity
 * always gives the same pseudonym, so an operator who knows an identity can find its lines. It is a
 * pseudonym, not anonymity: whoever can guess an identity can check the guess.
 */
import { createHash } from 'node:crypto';

export function pseudonym(identity: string): string {
  return `id-${createHash('sha256').update(`telemed-sfu log pseudonym\n${identity}`).digest('hex').slice(0, 16)}`;
}
