/** EVENT_WEBHOOK_*: which events, the secret from the environment or a file, refusals named. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { ROOM_EVENT_TYPES } from '../../server/events/types.js';

const SECRET = 's'.repeat(40);
const DEV = { APP_MODE: 'development', DATA_DIR: '/tmp/telemed-events-unit' } as const;
const PROD = {
  JWT_SECRETS: 'k'.repeat(40),
  AUDIT_SEAL_KEY: 'k'.repeat(40),
  CORS_ORIGINS: 'https://consult.slzl-hospital.example',
} as const;
const URL_ = 'https://his.anping-hospital.example/telemed/events';
const dir = mkdtempSync(path.join(os.tmpdir(), 'telemed-events-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('event webhook configuration', () => {
  it('is off without a URL; on, every event by default, no names, its own outbox folder', () => {
    expect(loadConfig(DEV).events).toBeUndefined();
    const c = loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET: SECRET }).events;
    expect(c).toMatchObject({ url: URL_, secret: SECRET, includeNames: false, outboxDir: '/tmp/telemed-events-unit/event-outbox' });
    expect(c?.events).toEqual([...ROOM_EVENT_TYPES]);
    expect(c?.retry).toEqual({ baseMs: 2000, maxMs: 300_000 });
  });

  it('filters by EVENT_WEBHOOK_EVENTS and refuses an unknown event name', () => {
    const base = { ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET: SECRET };
    const c = loadConfig({
      ...base,
      EVENT_WEBHOOK_EVENTS: ' room_started, participant_joined ,recording_finished',
      EVENT_WEBHOOK_INCLUDE_NAMES: 'true',
    });
    expect(c.events?.events).toEqual(['room_started', 'participant_joined', 'recording_finished']);
    expect(c.events?.includeNames).toBe(true);
    expect(() => loadConfig({ ...base, EVENT_WEBHOOK_EVENTS: 'room_started,participant_kicked' })).toThrow(
      /EVENT_WEBHOOK_EVENTS: unknown event "participant_kicked"/,
    );
    expect(() => loadConfig({ ...base, EVENT_WEBHOOK_EVENTS: ' , ' })).toThrow(/EVENT_WEBHOOK_EVENTS is empty/);
  });

  it('takes the secret from a file (kept out of the environment), never both ways, never short', () => {
    const file = path.join(dir, 'event-webhook.secret');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    expect(loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET_FILE: file }).events?.secret).toBe(SECRET);
    expect(() => loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET_FILE: file, EVENT_WEBHOOK_SECRET: SECRET })).toThrow(
      /two ways to give one secret/,
    );
    expect(() => loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET_FILE: path.join(dir, 'missing') })).toThrow(
      /EVENT_WEBHOOK_SECRET_FILE: .*missing cannot be read \(ENOENT\)/,
    );
    expect(() => loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_, EVENT_WEBHOOK_SECRET: 'short' })).toThrow(/at least 32 characters/);
    expect(() => loadConfig({ ...DEV, EVENT_WEBHOOK_URL: URL_ })).toThrow(/needs EVENT_WEBHOOK_SECRET or EVENT_WEBHOOK_SECRET_FILE/);
    expect(() => loadConfig({ ...DEV, EVENT_WEBHOOK_SECRET: SECRET })).toThrow(/EVENT_WEBHOOK_URL is not/);
  });

  it('production sends events over https only (http to a loopback host)', () => {
    const prod = { ...PROD, EVENT_WEBHOOK_SECRET: SECRET };
    expect(() => loadConfig({ ...prod, EVENT_WEBHOOK_URL: 'http://his.anping-hospital.example/events' })).toThrow(
      /EVENT_WEBHOOK_URL: production .* needs an https:\/\/ URL/,
    );
    expect(loadConfig({ ...prod, EVENT_WEBHOOK_URL: 'http://127.0.0.1:8443/events' }).events?.url).toBe('http://127.0.0.1:8443/events');
  });
});
