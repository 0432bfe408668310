/** Who may enter which kind of room: the role table, plus the regulator's rule on online first visits. */
import { forbidden, mayEnter, ProtocolError } from '../../signaling/protocol/index.js';
import type { Principal } from '../auth/TokenVerifier.js';

export function checkEntry(p: Principal): void {
  if (!mayEnter(p.kind, p.role)) throw forbidden(`the role ${p.role} cannot take part in a ${p.kind} room`);
  if (p.kind === 'follow_up' && p.role === 'patient' && !p.priorVisit) {
    throw new ProtocolError(
      'PRIOR_VISIT_REQUIRED',
      'online care is for follow-up only: this access token carries no record of an earlier in-person visit (priorVisit); ' +
        'please ask the hospital to issue one',
    );
  }
}
