/**
 * The pre-call check (`preflight`): accepted before joining (and while waiting in the lobby), for
 * anyone with a valid token; the rules and bounds are in server/media/PreflightLab.ts.
 */
import type { types } from 'mediasoup';
import { ProtocolError, type PreflightAnswer } from '../../../signaling/protocol/index.js';
import { inStates, type HandlerTable } from '../dispatcher.js';

export const preflightHandlers = {
  preflight: inStates(['none', 'waiting'], async ({ session, services }, request): Promise<PreflightAnswer> => {
    const lab = services.preflight;
    if (!lab) throw new ProtocolError('UNAVAILABLE', 'this server does not offer the pre-call check');
    switch (request.step) {
      case 'ping':
        return { serverTime: Date.now(), relay: lab.relayOffered };
      case 'open':
        return lab.open(session, request.path);
      case 'connect':
        await lab.connect(session, request.testId, request.dtlsParameters as types.DtlsParameters);
        return {};
      case 'produce':
        return { producerId: await lab.produce(session, request.testId, request.kind, request.rtpParameters as types.RtpParameters) };
      case 'report':
        return lab.report(session, request.testId);
    }
  }),
} satisfies Partial<HandlerTable>;
