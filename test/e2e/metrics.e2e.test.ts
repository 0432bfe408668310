/**
 * What an operator's Prometheus sees of a real consultation: three clinicians in Chromium — 王芳 at
 * the provincial hospital (tertiary), 赵磊 at 安平县医院 (county), 李娜 at 清水镇卫生院 (township) —
 * see and hear each other; then `/metrics` parses as Prometheus text and shows, on the worker that
 * carries the room, consumers and media bitrate both ways; the three joins as join-latency
 * observations; round trip, loss and jitter histograms filled by the rooms' quality samples, labelled
 * by site level. No label value anywhere is a room, case, participant, identity, name or site of the
 * test, and the server's info-level log never names a person.
 */
import { Writable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/lib/browser.js';
import { openSdkPage, sdkJoin, waitForStats, type SdkJoinSpec } from '../../bench/lib/sdkPage.js';
import { createLogger } from '../../server/logger.js';
import type { MediaServer } from '../../server/MediaServer.js';
import { familyOf, parsePrometheusText, samplesOf, type Exposition } from '../helpers/prometheusText.js';
import { startTestServer } from '../helpers/server.js';

const ROOM = 'mdt-hepatology-20261130-ap';
const CASE = 'CASE-HEP-0417';
const camera = { width: 320, height: 240, frameRate: 15 };
const PEOPLE: SdkJoinSpec[] = [
  {
    identity: 'staff-wang-fang-10234',
    name: '王芳',
    role: 'lead_specialist',
    site: { id: 'slzl-tertiary', name: '省立肿瘤医院', level: 'tertiary_hospital' },
    room: ROOM,
    caseId: CASE,
    camera,
  },
  {
    identity: 'staff-zhao-lei-20871',
    name: '赵磊',
    role: 'clinic_doctor',
    site: { id: 'anping-county', name: '安平县医院', level: 'county_hospital' },
    room: ROOM,
    caseId: CASE,
    camera,
  },
  {
    identity: 'staff-li-na-30552',
    name: '李娜',
    role: 'specialist',
    site: { id: 'qingshui-township', name: '清水镇卫生院', level: 'township_health_centre' },
    room: ROOM,
    caseId: CASE,
    camera,
  },
];

/** Label names /metrics may use on telemed_* metrics: bounded sets only. */
const BOUNDED_LABELS = new Set([
  'worker',
  'mode',
  'direction',
  'room_kind',
  'site_level',
  'request',
  'code',
  'kind',
  'stage',
  'state',
  'protocol', // encoder ingests: whip / rtmp
  'le',
]);

const logLines: string[] = [];
let server: MediaServer;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  // The server's log at info level, as shipped in production, read by the test.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  server = await startTestServer({ MEDIA_WORKERS: '2' }, createLogger('info', sink));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

/** Site levels whose lines have loss observations. */
const measuredLevels = (m: Exposition) =>
  [...new Set(samplesOf(m, 'telemed_call_packet_loss_ratio_count').flatMap((s) => (s.value > 0 ? [s.labels['site_level']!] : [])))].sort();

const total = (m: Exposition, name: string, where: Record<string, string> = {}) =>
  samplesOf(m, name, where).reduce((n, s) => n + s.value, 0);

describe('metrics of a three-site consultation', () => {
  let metrics: Exposition;
  const participantIds: string[] = [];

  it('three clinicians see each other; /metrics shows the call per worker, the joins and the call quality', async () => {
    for (const person of PEOPLE) {
      const page = await openSdkPage(browser, server.url);
      pages.push(page);
      expect(await sdkJoin(page, person)).toBe('joined');
    }
    for (const [i, page] of pages.entries()) {
      const others = PEOPLE.filter((_, j) => j !== i).map((p) => p.name);
      await waitForStats(page, (s) => others.every((name) => s.inbound.some((x) => x.name === name && x.framesDecoded > 0)), 40_000);
      participantIds.push(await page.evaluate(() => (window as unknown as { t: { client: { self: { id: string } } } }).t.client.self.id));
    }

    // The quality watch samples every 5 s (a joiner's first round may come after the others'); RTT
    // needs the browsers' receiver reports first.
    await expect
      .poll(
        async () => {
          metrics = await scrape();
          return [
            measuredLevels(metrics).length === 3,
            total(metrics, 'telemed_call_rtt_seconds_count') > 0,
            total(metrics, 'telemed_call_packet_loss_ratio_count') > 0,
            total(metrics, 'telemed_call_jitter_seconds_count') > 0,
            total(metrics, 'telemed_media_worker_bitrate_bps', { direction: 'out' }) > 0,
            samplesOf(metrics, 'telemed_media_worker_cpu_seconds_total').length > 0,
          ];
        },
        { timeout: 45_000, interval: 1000 },
      )
      .toEqual([true, true, true, true, true, true]);

    // Every sample belongs to a declared family.
    expect(metrics.samples.filter((s) => familyOf(metrics, s.name) === undefined).map((s) => s.name)).toEqual([]);
    expect(samplesOf(metrics, 'process_cpu_user_seconds_total')).toHaveLength(1); // prom-client's process metrics

    // Both workers are listed; the one carrying the room has its consumers and media both ways.
    expect(samplesOf(metrics, 'telemed_media_worker_consumers').map((s) => s.labels['worker'])).toEqual(['0', '1']);
    const busy = samplesOf(metrics, 'telemed_media_worker_routers').filter((s) => s.value > 0);
    expect(busy).toHaveLength(1);
    const worker = busy[0]!.labels['worker']!;
    // Each of three sends camera and microphone to the two others: 3 × 2 × 2 consumers.
    expect(total(metrics, 'telemed_media_worker_consumers', { worker })).toBe(12);
    expect(total(metrics, 'telemed_media_worker_producers', { worker })).toBe(6);
    expect(total(metrics, 'telemed_media_worker_transports', { worker })).toBe(6);
    expect(total(metrics, 'telemed_media_worker_bitrate_bps', { worker, direction: 'in' })).toBeGreaterThan(0);
    expect(total(metrics, 'telemed_media_worker_bitrate_bps', { worker, direction: 'out' })).toBeGreaterThan(0);
    expect(total(metrics, 'telemed_media_worker_cpu_seconds_total', { worker })).toBeGreaterThan(0);
    expect(total(metrics, 'telemed_media_worker_max_rss_bytes', { worker })).toBeGreaterThan(0);

    // The three joins, each observed with a positive duration.
    expect(total(metrics, 'telemed_join_duration_seconds_count', { room_kind: 'consultation' })).toBe(3);
    expect(total(metrics, 'telemed_join_duration_seconds_sum', { room_kind: 'consultation' })).toBeGreaterThan(0);
    expect(total(metrics, 'telemed_signaling_request_duration_seconds_count', { request: 'join' })).toBe(3);
    expect(total(metrics, 'telemed_signaling_request_duration_seconds_count', { request: 'produce' })).toBe(6);

    // Quality observations by site level: every site of the consultation is measured.
    expect(measuredLevels(metrics)).toEqual(['county_hospital', 'tertiary_hospital', 'township_health_centre']);
    expect(total(metrics, 'telemed_participants_by_site_level', { room_kind: 'consultation', site_level: 'county_hospital' })).toBe(1);
    expect(total(metrics, 'telemed_rooms')).toBe(1);
    expect(total(metrics, 'telemed_participants')).toBe(3);
    expect(total(metrics, 'telemed_node_state', { state: 'serving' })).toBe(1);
  }, 150_000);

  it('no label names a room, a case or a person, and the info log names nobody', () => {
    expect(participantIds).toHaveLength(3);
    const secrets = [ROOM, CASE, ...participantIds, ...PEOPLE.flatMap((p) => [p.identity, p.name, p.site!.id, p.site!.name])];
    const values = new Set(metrics.samples.flatMap((s) => Object.values(s.labels)));
    expect(secrets.filter((secret) => values.has(secret))).toEqual([]);
    // Nor a label made of one (e.g. "room=…" inside a value).
    expect([...values].filter((v) => secrets.some((secret) => v.includes(secret)))).toEqual([]);
    const telemedLabels = new Set(metrics.samples.filter((s) => s.name.startsWith('telemed_')).flatMap((s) => Object.keys(s.labels)));
    expect([...telemedLabels].filter((l) => !BOUNDED_LABELS.has(l))).toEqual([]);

    // The log: joins are there, by pseudonym, with the room and the request id; no display name at all.
    const joined = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'participant joined');
    expect(joined).toHaveLength(3);
    for (const line of joined) {
      expect(line['room']).toBe(ROOM);
      expect(line['reqId']).toMatch(/^[0-9a-f]{16}$/);
      expect(line['identity']).toMatch(/^id-[0-9a-f]{16}$/);
    }
    const names = PEOPLE.map((p) => p.name);
    expect(logLines.filter((l) => names.some((n) => l.includes(n)))).toEqual([]);
  });
});
