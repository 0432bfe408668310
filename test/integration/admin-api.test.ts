/**
 * The operators' API on a single node: only an admin token opens it (an access token for a room or a
 * recordings token does not, whatever its signature), it shows the node, and a drain is refused
 * with a reason (a single node has nowhere to move its rooms).
 */
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaServer } from '../../server/MediaServer.js';
import { startTestServer } from '../helpers/server.js';
import { adminToken, TEST_AUDIENCE, TEST_SECRET, token } from '../helpers/tokens.js';

let server: MediaServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const call = (path: string, bearer?: string, method = 'GET') =>
  fetch(`${server.url}${path}`, { method, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });

describe('admin API', () => {
  it('refuses anything but an admin token, with a clear error', async () => {
    const recordings = jwt.sign({ sub: 'his', scope: 'recordings:read', caseId: 'CASE-1' }, TEST_SECRET, {
      audience: TEST_AUDIENCE,
      expiresIn: 600,
    });
    const otherKey = adminToken('ops', {}).replace(/\.[^.]+$/, '.c2lnbmF0dXJl');
    const expired = adminToken('ops', { expiresIn: -10 });
    for (const bearer of [undefined, token({ name: '王芳', role: 'lead_specialist' }), recordings, otherKey, expired]) {
      const response = await call('/admin/node', bearer);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    }
    expect((await call('/admin/drain', token({ role: 'lead_specialist' }), 'POST')).status).toBe(401);
  });

  it('shows the node; a drain of a single node is refused with the reason', async () => {
    const node = await call('/admin/node', adminToken());
    expect(node.status).toBe(200);
    expect(await node.json()).toEqual({ state: 'serving', rooms: 0, clustered: false });
    const drain = await call('/admin/drain', adminToken(), 'POST');
    expect(drain.status).toBe(409);
    expect(((await drain.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'WRONG_STATE',
      message: expect.stringMatching(/single node/),
    });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
