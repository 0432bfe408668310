/**
 * Broadcasts across nodes, the pure parts: where the origin sends a viewer once its seats are taken
 * (the least-loaded usable edge, counting viewers sent and not yet arrived; none when every edge is
 * full), the seats themselves, who counts as audience, and the edge link's tokens (a distinct
 * audience and role: neither a client's token nor a link token passes for the other).
 */
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { signLinkToken, verifyLinkToken } from '../../server/cluster/edges/linkToken.js';
import { EdgeChoice, type ViewerPlacementDeps } from '../../server/cluster/edges/placement.js';
import { isAudience, ViewerSeats } from '../../server/cluster/edges/seats.js';
import type { NodeInfo } from '../../server/cluster/NodeRegistry.js';
import { TokenVerifier } from '../../server/auth/TokenVerifier.js';
import { claims, TEST_AUDIENCE, TEST_SECRET } from '../helpers/tokens.js';

const node = (id: string, state: NodeInfo['state'] = 'serving'): NodeInfo => ({
  id,
  route: `http://127.0.0.1/${id}`,
  mediaAddresses: ['127.0.0.1'],
  version: 'test',
  load: 0,
  state,
});

function deps(hosted: Record<string, number>, unusable: string[] = [], capacity = 3): ViewerPlacementDeps {
  return {
    seats: new ViewerSeats(capacity),
    edges: { viewersOn: (_room, id) => hosted[id] ?? 0, usable: (id) => !unusable.includes(id) },
    relays: { originOf: () => undefined },
    choice: new EdgeChoice(),
  };
}

describe('edge choice', () => {
  const nodes = [node('a'), node('b'), node('c'), node('d', 'draining')];

  it('sends a viewer to the usable edge with the fewest of the room’s viewers, never to itself or a draining node', () => {
    const d = deps({ b: 2, c: 1, d: 0 });
    expect(d.choice.choose('r', nodes, 'a', d)?.id).toBe('c');
    const bLost = deps({ b: 0, c: 1 }, ['b']);
    expect(bLost.choice.choose('r', nodes, 'a', bLost)?.id, 'b’s link dropped lately').toBe('c');
  });

  it('counts viewers sent and not yet arrived, until they arrive', () => {
    const d = deps({ b: 0, c: 0 });
    const first = d.choice.choose('r', nodes, 'a', d, 0)!.id;
    const second = d.choice.choose('r', nodes, 'a', d, 1)!.id;
    expect(new Set([first, second])).toEqual(new Set(['b', 'c']));
    d.choice.arrived('r', first);
    d.choice.arrived('r', second);
    // Arrived and now counted by the links: b hosts 2, c 0.
    const after = deps({ b: 2, c: 0 });
    expect(d.choice.choose('r', nodes, 'a', { ...after, choice: d.choice }, 2)?.id).toBe('c');
  });

  it('forgets a viewer that never arrived after a while', () => {
    const d = deps({ b: 2, c: 2 });
    expect(d.choice.choose('r', nodes, 'a', d, 0)?.id).toBeDefined();
    expect(d.choice.choose('r', nodes, 'a', d, 1)?.id).toBeDefined();
    expect(d.choice.choose('r', nodes, 'a', d, 2), 'both edges full with those on their way').toBeUndefined();
    expect(d.choice.choose('r', nodes, 'a', d, 60_000)).toBeDefined();
  });

  it('keeps the viewer at the origin when every edge is full or unusable', () => {
    const full = deps({ b: 3, c: 3 });
    expect(full.choice.choose('r', nodes, 'a', full)).toBeUndefined();
    const none = deps({}, ['b', 'c']);
    expect(none.choice.choose('r', nodes, 'a', none)).toBeUndefined();
  });
});

describe('viewer seats and the audience', () => {
  it('gives seats up to the capacity (or beyond when told to), each back once', () => {
    const seats = new ViewerSeats(2);
    const one = seats.tryTake()!;
    seats.tryTake();
    expect(seats.tryTake()).toBeUndefined();
    const forced = seats.take();
    expect(seats.taken).toBe(3);
    one();
    one();
    forced();
    expect(seats.taken).toBe(1);
  });

  it('counts viewers and trainees as audience, not presenters or moderators, and no one in a consultation', () => {
    expect(isAudience('broadcast', 'viewer')).toBe(true);
    expect(isAudience('training', 'observer')).toBe(true);
    expect(isAudience('broadcast', 'presenter')).toBe(false);
    expect(isAudience('broadcast', 'lead_specialist')).toBe(false);
    expect(isAudience('consultation', 'observer')).toBe(false);
  });
});

describe('edge link tokens', () => {
  const keys = { secrets: [TEST_SECRET], algorithm: 'HS256' as const, audience: TEST_AUDIENCE, issuer: undefined };

  it('carry the edge node and the room, and are refused with another key', () => {
    expect(verifyLinkToken(keys, signLinkToken(keys, 'node-b', 'jiangtang-1'))).toEqual({
      sub: 'node-b',
      role: 'edge',
      room: 'jiangtang-1',
    });
    const forged = signLinkToken({ ...keys, secrets: ['f'.repeat(32)] }, 'node-b', 'jiangtang-1');
    expect(() => verifyLinkToken(keys, forged)).toThrow(/edge link token rejected/);
  });

  it('are not client tokens, and client tokens are not link tokens', () => {
    const verifier = new TokenVerifier({ algorithms: ['HS256'], keys: [TEST_SECRET], audience: TEST_AUDIENCE, maxTtlSeconds: 86_400 });
    expect(() => verifier.verify(signLinkToken(keys, 'node-b', 'jiangtang-1'))).toThrow();
    const client = jwt.sign(claims({ room: 'jiangtang-1', kind: 'broadcast', role: 'viewer' }), TEST_SECRET, {
      algorithm: 'HS256',
      audience: TEST_AUDIENCE,
      expiresIn: 60,
    });
    expect(() => verifyLinkToken(keys, client)).toThrow(/edge link token rejected/);
    // Even one shaped like a link token by whoever holds the clients' secret: links use a derived key.
    const lookalike = jwt.sign({ ...claims({ room: 'jiangtang-1' }), role: 'edge' }, TEST_SECRET, {
      algorithm: 'HS256',
      audience: `${TEST_AUDIENCE}:edge`,
      expiresIn: 60,
    });
    expect(() => verifyLinkToken(keys, lookalike)).toThrow(/edge link token rejected/);
  });
});
