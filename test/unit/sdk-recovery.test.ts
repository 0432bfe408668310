/**
 * The SDK's choice between resuming the same participant and joining again through the entry URL
 * (recovery.ts), with fake steps and fake timers: which node is asked, when the state turns to
 * 'moving', what is retried and what is final. The browser and the cluster are in
 * test/cluster/sdk-rejoin.e2e.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError, type ErrorCode } from '../../signaling/protocol/index.js';
import { MOVE_BUDGET_MS, recoverSession, type RecoverySteps } from '../../client-sdk/src/recovery.js';
import { NodeUnreachableError } from '../../client-sdk/src/SignalingConnection.js';
import type { ReconnectPolicy } from '../../client-sdk/src/reconnect.js';

const ENTRY = 'https://consult.hospital.example';
const OLD_NODE = 'https://node-b.hospital.example';

/** Every 500 ms while within the budget the recovery gives. */
const steady: ReconnectPolicy = { nextDelayMs: (_n, elapsed, budget) => (elapsed >= budget ? null : 500) };

type Script = Partial<Record<'reconnect' | 'reconnectViaEntry' | 'resume' | 'rejoin', (n: number) => void>>;

/** Fake steps: each call is logged; `script` says which throw (by call number, 1-based). */
function fakeSteps(script: Script, extra: Partial<RecoverySteps> = {}) {
  const log: string[] = [];
  const counts: Record<string, number> = {};
  let active = true;
  const step = (name: keyof Script) => async () => {
    counts[name] = (counts[name] ?? 0) + 1;
    log.push(name);
    script[name]?.(counts[name]);
  };
  const steps: RecoverySteps = {
    entryUrl: ENTRY,
    reconnect: step('reconnect'),
    reconnectViaEntry: step('reconnectViaEntry'),
    resume: step('resume'),
    rejoin: step('rejoin'),
    moving: () => log.push('moving'),
    active: () => active,
    ...extra,
  };
  return { steps, log, stop: () => (active = false) };
}

const unreachable = (url: string) => () => {
  throw new NodeUnreachableError(url, 'connection refused');
};
const refused =
  (code: ErrorCode, message: string = code) =>
  () => {
    throw new ProtocolError(code, message);
  };

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

async function run(steps: RecoverySteps, options: { graceMs?: number; sessionGone?: boolean } = {}) {
  const done = recoverSession(steps, { policy: steady, graceMs: options.graceMs ?? 20_000, ...options });
  await vi.advanceTimersByTimeAsync(120_000);
  return done;
}

describe('recoverSession', () => {
  it('resumes on the node that served the session when it answers; a single server is not asked twice per attempt', async () => {
    // The old node is the entry here (a single server): unreachable twice, then back.
    const { steps, log } = fakeSteps({ reconnect: (n) => n < 3 && unreachable(OLD_NODE)() });
    const single = { ...steps, entryUrl: OLD_NODE };
    expect(await run(single)).toBe('resumed');
    expect(log).toEqual(['reconnect', 'reconnect', 'reconnect', 'resume']);
  });

  it('a network outage (old node and entry both silent) stays "reconnecting" and gives up with the grace period', async () => {
    const { steps, log } = fakeSteps({ reconnect: unreachable(OLD_NODE), reconnectViaEntry: unreachable(ENTRY) });
    const outcome = await run(steps, { graceMs: 5000 });
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/lost and could not be restored/);
    expect(log).not.toContain('moving');
    expect(log.filter((s) => s === 'reconnect')).toHaveLength(10); // 500 ms apart within 5 s
  });

  it('the old node silent while the entry answers (sends us to it, asks to retry): moving; rejoined where the room is now', async () => {
    const { steps, log } = fakeSteps({
      reconnect: unreachable(OLD_NODE),
      // The entry still sends us to the dead owner (its lease has not expired), then asks to retry,
      // then connects us to the node that took the room over — where the session is unknown.
      reconnectViaEntry: (n) => {
        if (n === 1) unreachable(OLD_NODE)();
        if (n === 2) refused('UNAVAILABLE', 'the cluster directory cannot be reached right now')();
      },
      resume: refused('NOT_FOUND', 'no session to resume'),
    });
    expect(await run(steps)).toBe('rejoined');
    expect(log).toEqual([
      'reconnect',
      'reconnectViaEntry',
      'moving',
      // Once moving, straight to the entry (the old node is not asked again).
      'reconnectViaEntry',
      'reconnectViaEntry',
      'resume',
      'rejoin',
    ]);
  });

  it('a blip: the old node silent for a moment, the entry leads back to it and the session resumes without a move', async () => {
    const { steps, log } = fakeSteps({ reconnect: unreachable(OLD_NODE) });
    expect(await run(steps)).toBe('resumed');
    expect(log).toEqual(['reconnect', 'reconnectViaEntry', 'resume']);
  });

  it('the node answers but no longer knows the session (NOT_FOUND): moving, and joins again on that same socket', async () => {
    const { steps, log } = fakeSteps({ resume: refused('NOT_FOUND') });
    expect(await run(steps)).toBe('rejoined');
    expect(log).toEqual(['reconnect', 'resume', 'moving', 'rejoin']);
  });

  it('the server ended the session because the room moved: moving at once, through the entry, no resume', async () => {
    const { steps, log } = fakeSteps({});
    expect(await run(steps, { sessionGone: true })).toBe('rejoined');
    expect(log).toEqual(['moving', 'reconnectViaEntry', 'rejoin']);
  });

  it('a move is tried past the grace period, up to the move budget, then given up', async () => {
    const { steps, log } = fakeSteps({ reconnectViaEntry: unreachable(OLD_NODE) });
    const done = recoverSession(steps, { policy: steady, graceMs: 5000, sessionGone: true });
    await vi.advanceTimersByTimeAsync(MOVE_BUDGET_MS + 5000);
    const outcome = await done;
    expect((outcome as Error).message).toMatch(/went away and it could not be joined again/);
    expect(log.filter((s) => s === 'reconnectViaEntry').length).toBe(MOVE_BUDGET_MS / 500);
  });

  it.each([
    ['FORBIDDEN', 'you were removed from this consultation by its moderator'],
    ['WRONG_STATE', 'this consultation was ended by its lead; a new one needs a new room'],
  ] as const)('a final refusal of the rejoin (%s) ends it with the server’s message', async (code, message) => {
    const { steps, log } = fakeSteps({ rejoin: refused(code, message) });
    const outcome = await run(steps, { sessionGone: true });
    expect(outcome).toBeInstanceOf(ProtocolError);
    expect(outcome).toMatchObject({ code, message });
    expect(log.filter((s) => s === 'rejoin')).toHaveLength(1);
  });

  it('busy or settling answers (UNAVAILABLE, TOO_MANY_REQUESTS, MOVED, INTERNAL) are retried', async () => {
    const codes = ['UNAVAILABLE', 'TOO_MANY_REQUESTS', 'MOVED', 'INTERNAL'] as const;
    const { steps, log } = fakeSteps({ rejoin: (n) => n <= codes.length && refused(codes[n - 1]!)() });
    expect(await run(steps, { sessionGone: true })).toBe('rejoined');
    expect(log.filter((s) => s === 'rejoin')).toHaveLength(5);
  });

  it('an expired token is replaced when the app can get one, and is final when it cannot', async () => {
    const expired = refused('UNAUTHENTICATED', 'the access token has expired');
    const refreshToken = vi.fn(async () => undefined);
    const withRefresh = fakeSteps({ reconnectViaEntry: (n) => n === 1 && expired() }, { refreshToken });
    expect(await run(withRefresh.steps, { sessionGone: true })).toBe('rejoined');
    expect(refreshToken).toHaveBeenCalledTimes(1);

    const without = fakeSteps({ reconnectViaEntry: expired });
    expect(await run(without.steps, { sessionGone: true })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(without.log.filter((s) => s === 'reconnectViaEntry')).toHaveLength(1);
  });

  it('makes no further attempt once the user left', async () => {
    const { steps, log, stop } = fakeSteps({ reconnectViaEntry: unreachable(OLD_NODE) });
    const done = recoverSession(steps, { policy: steady, graceMs: 20_000, sessionGone: true });
    await vi.advanceTimersByTimeAsync(1200); // two attempts
    stop();
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    expect(log.filter((s) => s === 'reconnectViaEntry')).toHaveLength(2);
  });
});
