/**
 * Limits that leaving and rejoining must not reset (issue #10, item 5), over real signaling: the chat
 * rate limit and the Q&A interval are kept per identity and room, joins are throttled per identity,
 * an empty room lingers so churn reuses one room and one trail, and a joiner gets the latest chat
 * messages only, paging older ones with `chatHistory`.
 *
 * The server of this file: a burst of 6 joins (one more than the chat burst, so the chat test can
 * rejoin between every message), one more join every 3 s, a 2 s linger, 10 chat messages per join.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Ack, ChatMessage, JoinResponse, JoinResult, RoomKind } from '../../signaling/protocol/index.js';
import { connect, connectAndJoin, err, ok, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const JOIN_BURST = 6;
const LINGER_SECONDS = 2;
const CHAT_ON_JOIN = 10;
const env = useTestEnvironment({
  env: {
    ROOM_JOIN_BURST: String(JOIN_BURST),
    ROOM_JOIN_INTERVAL_SECONDS: '3',
    ROOM_EMPTY_LINGER_SECONDS: String(LINGER_SECONDS),
    CHAT_MESSAGES_ON_JOIN: String(CHAT_ON_JOIN),
  },
});

const PROVINCIAL = { id: 'prov-tumour', name: '省肿瘤医院', level: 'tertiary_hospital' } as const;
const COUNTY = { id: 'anping', name: '安平县医院', level: 'county_hospital' } as const;
const VILLAGE = { id: 'hongqi', name: '红旗村卫生室', level: 'village_clinic' } as const;

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One connected socket of one identity, which joins and leaves the room of its token again and again. */
async function socketOf(spec: TokenSpec): Promise<{ client: TestClient; join: () => Promise<Ack<JoinResponse>> }> {
  const client = env.track(await connect(env.server.url, token(spec)));
  const { rtpCapabilities } = ok(await client.request('getRouterRtpCapabilities', {}));
  return { client, join: () => client.request('join', { rtpCapabilities }) };
}

async function joined(spec: TokenSpec): Promise<{ client: TestClient; join: JoinResult }> {
  const { client, ack } = await connectAndJoin(env.server.url, token(spec));
  env.track(client);
  const response = ok(ack);
  if (response.status !== 'joined') throw new Error(`${spec.name ?? '?'} was not admitted`);
  return { client, join: response };
}

describe('chat rate limit across rejoins', () => {
  it('leave/join between messages does not reset it: the 6th message within the window is TOO_MANY_REQUESTS', async () => {
    const room = 'limits-chat-rejoin';
    // 王芳 stays, so the room is the same one throughout and sees what got through.
    const wang = await joined({ room, sub: 'wang-fang', name: '王芳', role: 'lead_specialist', site: PROVINCIAL });
    const zhao = await socketOf({ room, sub: 'zhao-lei', name: '赵磊', role: 'clinic_doctor', site: COUNTY });
    const started = Date.now();
    for (let i = 1; i <= 5; i++) {
      expect(ok(await zhao.join()), `join ${i}`).toMatchObject({ status: 'joined' });
      ok(await zhao.client.request('sendChat', { text: `第${i}条：患者血压 150/95` }));
      ok(await zhao.client.request('leave', {}));
    }
    expect(ok(await zhao.join())).toMatchObject({ status: 'joined' });
    const refused = err(await zhao.client.request('sendChat', { text: '第6条' }));
    expect(Date.now() - started, 'all within the 5 s window').toBeLessThan(5000);
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toMatch(/5 chat messages per 5 s; please wait \d+ s/);
    const seen = wang.client.received.filter((r) => r.name === 'chatMessage');
    expect(seen).toHaveLength(5);
    // 王芳's own limit is untouched by 赵磊's.
    ok(await wang.client.request('sendChat', { text: '收到，请继续' }));
  });
});

describe('Q&A limits across rejoins', () => {
  it("a viewer who rejoins must still wait out the interval; other viewers' questions are taken", async () => {
    const room = 'limits-qa-rejoin';
    const kind: RoomKind = 'broadcast';
    const lead = await joined({
      room,
      kind,
      caseId: undefined,
      sub: 'wang-fang-qa',
      name: '王芳',
      role: 'lead_specialist',
      site: PROVINCIAL,
    });
    const ma = await socketOf({ room, kind, caseId: undefined, sub: 'ma-li', name: '马丽', role: 'viewer', site: VILLAGE });
    expect(ok(await ma.join())).toMatchObject({ status: 'joined' });
    ok(await ma.client.request('askQuestion', { text: '术后多久可以复查？' }));
    ok(await ma.client.request('leave', {}));
    expect(ok(await ma.join())).toMatchObject({ status: 'joined' });
    const refused = err(await ma.client.request('askQuestion', { text: '术后多久可以复查？（再问一次）' }));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toContain('one question every 10 s');
    // An honest viewer is not refused.
    const other = await joined({ room, kind, caseId: undefined, sub: 'li-qiang-viewer', name: '李强', role: 'viewer', site: COUNTY });
    ok(await other.client.request('askQuestion', { text: '化疗期间能否接种疫苗？' }));
    const board = env.server.rooms.get(room)!.audience.questions.list(true);
    expect(board.map((q) => q.text)).toEqual(['术后多久可以复查？', '化疗期间能否接种疫苗？']);
    expect(lead.join.permissions).toContain('manage_questions');
  });
});

describe('joins throttled per identity; churn reuses one lingering room', () => {
  it('20 rapid join/leave cycles: at most the burst gets in, the rest told to wait; one room, one trail, one case-record entry', async () => {
    const room = 'limits-churn';
    const caseId = 'CASE-CHURN-0117';
    const zhao = await socketOf({ room, caseId, sub: 'zhao-lei-churn', name: '赵磊', role: 'specialist', site: COUNTY });
    const rooms = new Set<unknown>();
    let accepted = 0;
    const refusals: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const ack = await zhao.join();
      if (ack.ok) {
        accepted++;
        rooms.add(env.server.rooms.get(room));
        ok(await zhao.client.request('leave', {}));
      } else {
        expect(ack.error.code).toBe('TOO_MANY_REQUESTS');
        refusals.push(ack.error.message);
      }
    }
    const elapsedS = (Date.now() - started) / 1000;
    // The burst, plus one per 3 s that passed (the cycles take well under a second here).
    expect(accepted).toBeGreaterThanOrEqual(JOIN_BURST);
    expect(accepted).toBeLessThanOrEqual(JOIN_BURST + Math.floor(elapsedS / 3));
    expect(refusals.length).toBe(20 - accepted);
    expect(refusals[0]).toMatch(/please wait [1-3] s/);
    expect(rooms.size, 'every accepted join found the same lingering room').toBe(1);

    // A different person is not throttled by 赵磊's loop.
    const li = await joined({ room, caseId, sub: 'li-qiang-churn', name: '李强', role: 'specialist', site: PROVINCIAL });
    expect(rooms.has(env.server.rooms.get(room))).toBe(true);
    li.client.close();

    // Once empty for the linger, the room closes: one trail, one case-record entry for the whole churn.
    await until(() => env.server.rooms.get(room) === undefined, 'the room to close after its linger', (LINGER_SECONDS + 3) * 1000);
    const trails = readdirSync(path.join(env.server.config.records.auditDir, room)).filter((f) => f.endsWith('.jsonl'));
    expect(trails).toHaveLength(1);
    const caseDir = path.join(env.server.config.records.caseRecordDir, caseId);
    await until(() => existsSync(caseDir) && readdirSync(caseDir).length > 0, 'the case-record entry');
    expect(readdirSync(caseDir)).toHaveLength(1);
  });

  it('resuming is not a join: a throttled identity whose network dropped still resumes', async () => {
    const room = 'limits-resume';
    const wang = await joined({ room, sub: 'wang-fang-resume', name: '王芳', role: 'lead_specialist', site: PROVINCIAL });
    const zhao = await socketOf({ room, sub: 'zhao-lei-resume', name: '赵磊', role: 'clinic_doctor', site: COUNTY });
    let last: JoinResult | undefined;
    for (let i = 0; i < JOIN_BURST; i++) {
      const response = ok(await zhao.join());
      if (response.status !== 'joined') throw new Error('not admitted');
      last = response;
      if (i < JOIN_BURST - 1) ok(await zhao.client.request('leave', {}));
    }
    expect(err(await (await socketOf({ room, sub: 'zhao-lei-resume', name: '赵磊', role: 'clinic_doctor' })).join()).code).toBe(
      'TOO_MANY_REQUESTS',
    );
    const reconnecting = wang.client.next('participantConnection', (p) => p.state === 'reconnecting');
    zhao.client.socket.io.engine.close(); // the network drops under the socket (not a deliberate leave)
    await reconnecting;
    const again = env.track(
      await connect(env.server.url, token({ room, sub: 'zhao-lei-resume', name: '赵磊', role: 'clinic_doctor', site: COUNTY })),
    );
    const snapshot = ok(await again.request('resume', { participantId: last!.self.id, resumeToken: last!.resumeToken }));
    expect(snapshot.self.id).toBe(last!.self.id);
  });
});

describe('the join answer carries the latest chat; chatHistory pages the rest', () => {
  it(`${CHAT_ON_JOIN} messages on join, then pages in order without gaps, for a broadcast viewer too`, async () => {
    const room = 'limits-chat-history';
    const kind: RoomKind = 'training';
    const speakers = await Promise.all(
      ['王芳', '李强', '赵磊', '马丽', '孙伟'].map((name, i) =>
        joined({
          room,
          kind,
          caseId: undefined,
          sub: `speaker-${i}`,
          name,
          role: i === 0 ? 'lead_specialist' : 'specialist',
          site: PROVINCIAL,
        }),
      ),
    );
    const sent: ChatMessage[] = [];
    for (let round = 1; round <= 5; round++) {
      for (const s of speakers)
        sent.push(ok(await s.client.request('sendChat', { text: `${s.join.self.displayName} 第${round}条` })).message);
    }
    expect(sent).toHaveLength(25);

    // A trainee (observer: may chat) and, below, what anyone in the room may do: page.
    const trainee = await joined({ room, kind, caseId: undefined, sub: 'trainee-chen', name: '陈静', role: 'observer', site: VILLAGE });
    expect(trainee.join.chat.map((m) => m.id)).toEqual(sent.slice(-CHAT_ON_JOIN).map((m) => m.id));
    expect(trainee.join.chatHasMore).toBe(true);

    const pages: ChatMessage[][] = [];
    let before = trainee.join.chat[0]!.id;
    for (;;) {
      const page = ok(await trainee.client.request('chatHistory', { before, limit: 7 }));
      pages.push(page.messages);
      if (!page.hasMore) break;
      before = page.messages[0]!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([7, 7, 1]);
    const all = [...pages.reverse().flat(), ...trainee.join.chat];
    expect(all.map((m) => m.id)).toEqual(sent.map((m) => m.id));

    // Without `before`: the latest page. An unknown message id: NOT_FOUND; a page too large: BAD_REQUEST.
    expect(ok(await trainee.client.request('chatHistory', { limit: 3 })).messages.map((m) => m.id)).toEqual(
      sent.slice(-3).map((m) => m.id),
    );
    expect(err(await trainee.client.request('chatHistory', { before: 'no-such-message' })).code).toBe('NOT_FOUND');
    expect(err(await trainee.client.request('chatHistory', { limit: 101 })).code).toBe('BAD_REQUEST');
  });

  it('a broadcast viewer, who may not write in the chat, may read back in it', async () => {
    const room = 'limits-chat-viewer';
    const kind: RoomKind = 'broadcast';
    const lead = await joined({
      room,
      kind,
      caseId: undefined,
      sub: 'lead-viewer-room',
      name: '王芳',
      role: 'lead_specialist',
      site: PROVINCIAL,
    });
    const message = ok(await lead.client.request('sendChat', { text: '欢迎各位基层医生' })).message;
    const viewer = await joined({ room, kind, caseId: undefined, sub: 'viewer-ma', name: '马丽', role: 'viewer', site: VILLAGE });
    expect(viewer.join.permissions).not.toContain('chat');
    expect(ok(await viewer.client.request('chatHistory', {}))).toEqual({ messages: [message], hasMore: false });
  });
});
