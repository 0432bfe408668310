/**
 * The dispatcher without a media worker: a connection whose participant was resumed elsewhere is
 * refused every request, and an unexpected error of ours is answered INTERNAL without its internals.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../server/auth/TokenVerifier.js';
import { dispatch, inStates, joined, type HandlerContext, type HandlerTable } from '../../server/signaling/dispatcher.js';
import { HANDLERS } from '../../server/signaling/handlers/index.js';
import { Session } from '../../server/signaling/Session.js';
import { Participant, type ParticipantChannel } from '../../server/rooms/Participant.js';
import type { Room } from '../../server/rooms/Room.js';
import type { RoomRegistry } from '../../server/rooms/RoomRegistry.js';
import { REQUEST_NAMES, type Ack } from '../../signaling/protocol/index.js';
import { testLog } from '../recordings/helpers/files.js';

const principal: Principal = {
  sub: 'zhao-lei',
  name: '赵磊',
  role: 'clinic_doctor',
  site: { id: 'anping', name: '安平县医院', level: 'county_hospital' },
  room: 'mdt-1',
  kind: 'consultation',
  caseId: 'CASE-1',
};

function channel(): ParticipantChannel {
  return { notify: () => undefined, end: () => undefined, close: () => undefined };
}

/** Anything the handlers might reach: a gate that lets a request through would hit this and fail loudly. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, key) => {
      throw new Error(`handler reached ${String(key)}`);
    },
  },
);

function context(session: Session): HandlerContext {
  return {
    session,
    channel: session.channel,
    rooms: untouchable as RoomRegistry,
    services: untouchable as HandlerContext['services'],
    log: testLog,
  };
}

describe('dispatcher', () => {
  it('a connection whose participant resumed on another connection is refused every request', async () => {
    const first = channel();
    const session = new Session(principal, first);
    const participant = new Participant(principal, first);
    participant.admit();
    session.bind(participant, untouchable as Room);
    expect(session.state).toBe('joined');
    participant.resume(channel());
    expect(session.state).toBe('replaced');
    for (const name of REQUEST_NAMES) {
      const ack = await dispatch(HANDLERS, context(session), name, {});
      expect(ack.ok ? 'ok' : ack.error.code, name).toBe('WRONG_STATE');
      if (!ack.ok) expect(ack.error.message).toMatch(/replaced/);
    }
  });

  it('answers an unexpected error of ours as INTERNAL, without its message; refusals keep theirs', async () => {
    const session = new Session(principal, channel());
    const table = {
      ...HANDLERS,
      getRouterRtpCapabilities: inStates<'getRouterRtpCapabilities'>(['none'], () => {
        throw new TypeError("Cannot read properties of undefined (reading 'secretInternals')");
      }),
      leave: joined<'leave'>(null, () => ({})),
    } satisfies HandlerTable;
    const ack = (await dispatch(table, context(session), 'getRouterRtpCapabilities', {})) as Ack<unknown>;
    expect(ack.ok ? 'ok' : ack.error.code).toBe('INTERNAL');
    expect(ack.ok ? '' : ack.error.message).not.toMatch(/secretInternals|TypeError/);
    const refused = await dispatch(table, context(session), 'leave', {});
    expect(refused.ok ? 'ok' : refused.error.code).toBe('WRONG_STATE');
  });

  it('validates after the state gate and before the handler', async () => {
    const session = new Session(principal, channel());
    const ack = await dispatch(HANDLERS, context(session), 'join', { rtpCapabilities: 'not an object' });
    expect(ack.ok ? 'ok' : ack.error.code).toBe('BAD_REQUEST');
  });
});
