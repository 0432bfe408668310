/**
 * The demo page's dictionaries (and the admin dashboard's, admin-messages.js): zh-CN and en have the
 * same keys, no empty text, the same parameters; every key the pages use (data-i18n* in index.html
 * and admin.html, keys in server/public/*.js, the families built at run time from protocol values:
 * roles, room kinds, error codes…) exists in both languages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  LABEL_LANGUAGES,
  LABELS,
  MEDIA_SOURCES,
  QUESTION_STATUSES,
  ROLES,
  ROOM_KINDS,
  SITE_LEVELS,
  type ConnectionQuality,
  type LabelLanguage,
  type LeaveReason,
} from '../../signaling/protocol/types/index.js';
import { PREFLIGHT_REASONS, type CheckStatus, type PreflightResult } from '../../client-sdk/src/preflightTypes.js';

const PUBLIC_DIR = path.resolve('server/public');
type Messages = Record<LabelLanguage, Record<string, string>>;
const { MESSAGES } = (await import(pathToFileURL(path.join(PUBLIC_DIR, 'i18n-messages.js')).href)) as { MESSAGES: Messages };
const { ADMIN_MESSAGES } = (await import(pathToFileURL(path.join(PUBLIC_DIR, 'admin-messages.js')).href)) as {
  ADMIN_MESSAGES: Messages;
};
const DICTIONARIES = { 'i18n-messages.js': MESSAGES, 'admin-messages.js': ADMIN_MESSAGES };

/**
 * What a page's t() resolves in `lang`: the dictionaries plus the SDK's role and site-level labels (as
 * i18n.js builds it; the admin page adds its own words to the shared ones).
 */
function catalog(lang: LabelLanguage): Record<string, string> {
  const dict = { ...MESSAGES[lang], ...ADMIN_MESSAGES[lang] };
  for (const [role, label] of Object.entries(LABELS[lang].roles)) dict[`role.${role}`] = label;
  for (const [level, label] of Object.entries(LABELS[lang].siteLevels)) dict[`siteLevel.${level}`] = label;
  return dict;
}

// Every reason a session ends with, checked by the compiler: a new LeaveReason must be added here.
const LEAVE_REASONS = Object.keys({
  left: 1,
  disconnected: 1,
  replaced: 1,
  removed: 1,
  declined: 1,
  room_ended: 1,
  room_closed: 1,
  off_stage: 1,
  room_moved: 1,
  connection_lost: 1,
} satisfies Record<LeaveReason | 'connection_lost', 1>);

/** Keys the page builds at run time (`prefix.${value}`), by prefix. */
const FAMILIES: Record<string, readonly string[]> = {
  role: ROLES,
  siteLevel: SITE_LEVELS,
  kind: ROOM_KINDS,
  source: MEDIA_SOURCES,
  question: QUESTION_STATUSES,
  leave: LEAVE_REASONS,
  error: [...Object.keys(ERROR_CODES), 'NotAllowedError', 'NotFoundError', 'NotReadableError'],
  'error.reason': ['declined', 'removed', 'room_ended'],
  tile: ['name', 'nameSelf', 'screen', 'screenSelf'],
  'tile.quality': ['good', 'fair', 'poor', 'unknown'] satisfies readonly ConnectionQuality[],
  'admin.quality': ['good', 'fair', 'poor', 'unknown'] satisfies readonly ConnectionQuality[],
  'admin.worker': ['restarting', 'failed'],
  'admin.delivery': ['pending', 'delivered', 'unknown'],
  'preflight.reason': PREFLIGHT_REASONS,
  'preflight.check': ['camera', 'microphone', 'speaker', 'signaling', 'udp', 'tcp', 'turn'] satisfies (keyof PreflightResult)[],
  'preflight.status': ['ok', 'failed', 'skipped'] satisfies CheckStatus[],
};

const scripts = readdirSync(PUBLIC_DIR)
  .filter((f) => f.endsWith('.js') && !(f in DICTIONARIES))
  .map((f) => ({ file: f, text: readFileSync(path.join(PUBLIC_DIR, f), 'utf8') }));
const html = readFileSync(path.join(PUBLIC_DIR, 'index.html'), 'utf8');
const adminHtml = readFileSync(path.join(PUBLIC_DIR, 'admin.html'), 'utf8');

const matches = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((m) => m[1]!);
const placeholders = (text: string) => matches(text, /\{(\w+)\}/g).sort();

describe('demo page dictionaries', () => {
  it.each(Object.entries(DICTIONARIES))(
    '%s: zh-CN and en have exactly the same keys, no empty text and the same parameters',
    (_, messages) => {
      const [zh, en] = [messages['zh-CN'], messages.en];
      expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
      for (const lang of LABEL_LANGUAGES) {
        for (const [key, text] of Object.entries(messages[lang])) {
          expect(text.trim(), `${lang} ${key}`).not.toBe('');
          expect(text, `${lang} ${key}`).not.toBe(key);
        }
      }
      for (const key of Object.keys(zh)) expect(placeholders(zh[key]!), key).toEqual(placeholders(en[key]!));
    },
  );

  it.each(Object.entries(DICTIONARIES))(
    '%s: the Chinese dictionary has no English words (parameters, https:// and sample ids like ENC-889 aside)',
    (_, messages) => {
      const english = Object.entries(messages['zh-CN']).filter(([, text]) =>
        /[A-Za-z]{2,}/.test(text.replace(/\{\w+\}|https:\/\/|\b[A-Z]+-\d+\b/g, '')),
      );
      expect(english).toEqual([]);
    },
  );

  it('the admin dashboard adds its own keys, never redefines a shared one', () => {
    expect(Object.keys(ADMIN_MESSAGES.en).filter((k) => k in MESSAGES.en)).toEqual([]);
    expect(Object.keys(ADMIN_MESSAGES.en).every((k) => k.startsWith('admin.'))).toBe(true);
  });

  it('role and site-level labels exist in both languages, Chinese ones in Chinese', () => {
    for (const lang of LABEL_LANGUAGES) {
      expect(Object.keys(LABELS[lang].roles).sort()).toEqual([...ROLES].sort());
      expect(Object.keys(LABELS[lang].siteLevels).sort()).toEqual([...SITE_LEVELS].sort());
    }
    for (const label of [...Object.values(LABELS['zh-CN'].roles), ...Object.values(LABELS['zh-CN'].siteLevels)])
      expect(label).toMatch(/^[\p{Script=Han} /]+$/u);
    expect(LABELS['zh-CN'].siteLevels.village_clinic).toBe('村卫生室');
    expect(LABELS.en.roles.clinic_doctor).toBe('Clinic doctor');
  });

  it.each([
    ['index.html', html, 30],
    ['admin.html', adminHtml, 10],
  ] as const)('every data-i18n* key in %s exists in both languages', (_, page, atLeast) => {
    const keys = matches(page, /\sdata-i18n(?:-(?!params)[a-z-]+)?="([^"]+)"/g);
    expect(keys.length).toBeGreaterThan(atLeast);
    for (const lang of LABEL_LANGUAGES)
      expect(
        keys.filter((k) => !(k in catalog(lang))),
        lang,
      ).toEqual([]);
  });

  it('the Chinese text in admin.html is its dictionary text (the same words show before the script runs)', () => {
    const texts = [...adminHtml.matchAll(/\sdata-i18n="([^"]+)"[^>]*>([^<]+)</g)].map((m) => [m[1]!, m[2]!.trim()] as const);
    expect(texts.length).toBeGreaterThan(10);
    const zh = catalog('zh-CN');
    expect(texts.filter(([key, text]) => zh[key] !== text)).toEqual([]);
  });

  it('every key literal in server/public/*.js exists in both languages', () => {
    // A key is a quoted 'namespace.name' literal (t('…'), translate(el, '…'), { key: '…' }, tables of keys).
    const keys = scripts.flatMap(({ file, text }) =>
      matches(text, /'([a-z][A-Za-z]*(?:\.[A-Za-z_]+)+)'/g)
        .filter((k) => !/\.(js|css|html)$/.test(k))
        .map((key) => ({ file, key })),
    );
    expect(keys.length).toBeGreaterThan(40);
    for (const lang of LABEL_LANGUAGES) {
      const dict = catalog(lang);
      expect(
        keys.filter(({ key }) => !(key in dict)).map(({ file, key }) => `${file}: ${key}`),
        lang,
      ).toEqual([]);
    }
  });

  it('every key built at run time (`prefix.${…}`) belongs to a known family, complete in both languages', () => {
    const prefixes = new Set(scripts.flatMap(({ text }) => matches(text, /`([a-z][A-Za-z]*(?:\.[A-Za-z_]+)*)\.\$\{/g)));
    expect([...prefixes].filter((p) => !(p in FAMILIES))).toEqual([]);
    for (const lang of LABEL_LANGUAGES) {
      const dict = catalog(lang);
      const missing = Object.entries(FAMILIES).flatMap(([prefix, values]) =>
        values.map((v) => `${prefix}.${v}`).filter((k) => !(k in dict)),
      );
      expect(missing, lang).toEqual([]);
    }
  });
});
