/**
 * Signaling requests as the dispatcher answers them: time from arrival to answer by request name,
 * refusals by request name and error code, and the time a join takes by room kind (what a clinician
 * waits between "join" and seeing the room). Request names and error codes are fixed lists in the
 * protocol, so the label sets stay small.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestOutcome, RequestOutcomes } from '../signaling/dispatcher.js';
import type { Session } from '../signaling/Session.js';

export class RequestMetrics implements RequestOutcomes {
  readonly #duration: Histogram<'request'>;
  readonly #errors: Counter<'request' | 'code'>;
  readonly #join: Histogram<'room_kind'>;

  constructor(registry: Registry) {
    this.#duration = new Histogram({
      name: 'telemed_signaling_request_duration_seconds',
      help: 'Signaling requests: time from arrival to answer, by request name (refusals included).',
      labelNames: ['request'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.#errors = new Counter({
      name: 'telemed_signaling_request_errors_total',
      help: 'Signaling requests answered with an error, by request name and error code.',
      labelNames: ['request', 'code'],
      registers: [registry],
    });
    this.#join = new Histogram({
      name: 'telemed_join_duration_seconds',
      help: 'Successful joins: time from the join request to its answer (room opened if needed, admitted or parked in the lobby), by room kind.',
      labelNames: ['room_kind'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    });
  }

  requestAnswered(outcome: RequestOutcome, session: Session): void {
    this.#duration.observe({ request: outcome.name }, outcome.seconds);
    if (outcome.error) this.#errors.inc({ request: outcome.name, code: outcome.error });
    else if (outcome.name === 'join') this.#join.observe({ room_kind: session.principal.kind }, outcome.seconds);
  }
}
