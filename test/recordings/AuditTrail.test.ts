/** The audit trail: append-only JSON Lines, written per event and synced by group commit, readable after reopen and after a torn write. */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actorFromParticipant, AuditTrail, GROUP_COMMIT_MS, type AuditEvent } from '../../recordings/index.js';
import { removeTempDirs, tempDir } from './helpers/files.js';
import { li, wang } from './helpers/people.js';

afterAll(removeTempDirs);

describe('AuditTrail', () => {
  it('appends numbered, timestamped events with their actor, one JSON object per line', () => {
    const file = path.join(tempDir(), 'rooms', 'hep-mdt-1.jsonl');
    const trail = AuditTrail.open(file);
    const seen: AuditEvent[] = [];
    trail.on('appended', (e) => seen.push(e));
    const joined = trail.append('participant_joined', { actor: wang });
    trail.append('published', { actor: li, data: { source: 'camera', producerId: 'p1' } });
    trail.append('muted', { actor: wang, data: { target: li.identity, source: 'microphone' } });
    expect(joined).toMatchObject({ seq: 1, type: 'participant_joined', actor: wang });
    expect(new Date(joined.at).toISOString()).toBe(joined.at);
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3]);
    // Written before append returned: the file holds every event, each on its own line.
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as AuditEvent).type)).toEqual(['participant_joined', 'published', 'muted']);
    expect(trail.events()).toEqual(seen);
    trail.close();
    expect(trail.closed).toBe(true);
    expect(() => trail.append('chat')).toThrow(/closed/);
  });

  it('reopening continues the numbering; a line torn by a crash is kept but skipped', () => {
    const file = path.join(tempDir(), 'room.jsonl');
    const first = AuditTrail.open(file);
    first.append('recording_started', { actor: wang, data: { sessionId: 's1' } });
    first.append('recording_acknowledged', { actor: li });
    first.close();
    appendFileSync(file, '{"seq":3,"at":"2026-11-23T10:00:00.000Z","type":"ch'); // the process died mid-write

    const reopened = AuditTrail.open(file);
    expect(reopened.lastSeq).toBe(2);
    const next = reopened.append('recording_stopped', { actor: wang });
    expect(next.seq).toBe(3);
    expect(reopened.events().map((e) => [e.seq, e.type])).toEqual([
      [1, 'recording_started'],
      [2, 'recording_acknowledged'],
      [3, 'recording_stopped'],
    ]);
    expect(readFileSync(file, 'utf8')).toContain('"type":"ch\n'); // evidence of the torn write stays
    reopened.close();
    expect(AuditTrail.read(file)).toHaveLength(3);
    expect(AuditTrail.read(path.join(tempDir(), 'missing.jsonl'))).toEqual([]);
  });

  it('a burst of events is written in order at once and synced in groups; flush and close sync the rest', async () => {
    const file = path.join(tempDir(), 'storm.jsonl');
    const trail = AuditTrail.open(file);
    for (let i = 0; i < 1000; i++) trail.append('participant_joined', { data: { i } });
    // Each line is in the file (page cache) when append returns: a process crash loses none of them.
    expect(
      readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEvent).seq),
    ).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    trail.flush();
    await new Promise((r) => setTimeout(r, GROUP_COMMIT_MS + 5)); // let a background sync start…
    trail.append('chat');
    trail.close(); // …and close while it may still run: the fd is closed after it, nothing throws
    await new Promise((r) => setTimeout(r, GROUP_COMMIT_MS * 2));
    const reopened = AuditTrail.open(file);
    expect(reopened.lastSeq).toBe(1001);
    reopened.close();
  });

  it('accepts event types beyond the known ones and maps a participant to an actor', () => {
    const trail = AuditTrail.open(path.join(tempDir(), 'x.jsonl'));
    const e = trail.append('hand_raised', {
      actor: actorFromParticipant({
        id: 'p9',
        identity: 'staff-9',
        displayName: 'Nurse Zhao',
        role: 'care_team',
        site: { id: 's', name: 'Xinhe Township Health Centre', level: 'township_health_centre' },
        joinedAt: new Date().toISOString(),
      }),
    });
    expect(e.actor).toEqual({
      participantId: 'p9',
      identity: 'staff-9',
      name: 'Nurse Zhao',
      role: 'care_team',
      siteId: 's',
      siteName: 'Xinhe Township Health Centre',
    });
    trail.close();
  });
});
