/** What the ingest e2e tests share: the broadcast's moderator, its viewers, and the ingest's presenter. */
import type { Page } from 'playwright-core';
import { openSdkPage, sdkJoin } from '../../bench/lib/sdkPage.js';
import type { Participant } from '../../server/rooms/Participant.js';
import type { TestEnvironment } from './fixture.js';
import { connectAndJoin, ok, type TestClient } from './signalingClient.js';
import { token } from './tokens.js';

/** The broadcast's lead (a moderator) over a bare signaling client, joined; closed with the file's tests. */
export async function joinBroadcastLead(env: TestEnvironment, room: string, sub: string, name: string): Promise<TestClient> {
  const joined = await connectAndJoin(
    env.server.url,
    token({ room, kind: 'broadcast', role: 'lead_specialist', sub, name, caseId: undefined }),
  );
  env.track(joined.client);
  ok(joined.ack);
  return joined.client;
}

/** A viewer at home, through the SDK in a Chromium page; throws unless joined. */
export async function joinViewer(env: TestEnvironment, room: string, identity: string, name: string): Promise<Page> {
  const page = await openSdkPage(env.browser, env.server.url);
  const status = await sdkJoin(page, {
    identity,
    name,
    role: 'viewer',
    room,
    kind: 'broadcast',
    caseId: null,
    site: { id: 'home', name: '家中', level: 'village_clinic' },
  });
  if (status !== 'joined') throw new Error(`viewer ${name} was not admitted (${status})`);
  return page;
}

/** The presenter an ingest has in the room now, if any. */
export function ingestPresenter(env: TestEnvironment, room: string, ingestId: string): Participant | undefined {
  return env.server.rooms
    .get(room)
    ?.participants()
    .find((p) => p.info.identity === `ingest:${ingestId}`);
}
