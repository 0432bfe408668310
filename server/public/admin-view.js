// The dashboard's sections, drawn from the admin API's answers. Every text goes through i18n.js (so a
// language switch re-renders it); a poor line is said in words and marked with a sign, colour only repeats it.
import { roleLabel, siteLevelLabel, translate, translated } from './i18n.js';

const QUALITY_SIGN = { good: '●', fair: '◐', poor: '▲', unknown: '○' };

/** An element with children (strings become text). */
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const cell = (...children) => el('td', {}, ...children);
const kbps = (bps) => Math.round(bps / 1000);

/** A duration as h:mm:ss or m:ss. */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** A table with translated column headings and one row per item. */
function table(headings, rows, className) {
  const head = el('tr', {}, ...headings.map((key) => translated('th', key, undefined, { scope: 'col' })));
  return el('table', { className }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/** The grade of a line: sign + words, and a class for colour. */
export function qualityBadge(quality) {
  const q = quality in QUALITY_SIGN ? quality : 'unknown';
  const badge = translated('span', `admin.quality.${q}`, undefined, { className: `quality quality-${q}` });
  badge.dataset.quality = q;
  // A language switch replaces the text: the sign sits in an attribute the style sheet shows before it.
  badge.dataset.sign = QUALITY_SIGN[q];
  return badge;
}

/** Everyone on a poor line, across rooms: the first thing an operator needs to see. */
export function renderSummary(container, { rooms, workers, records }) {
  const participants = rooms.flatMap((r) => r.participants.map((p) => ({ ...p, room: r.id })));
  const poor = participants.filter((p) => p.line.quality === 'poor');
  const unhealthy = workers.workers.filter((w) => !w.healthy);
  const recording = rooms.filter((r) => r.recording).length;
  const waiting = records.outbox?.pending ?? 0;
  const figures = el(
    'p',
    { className: 'figures' },
    translated('span', 'admin.summary.rooms', { n: rooms.length }),
    translated('span', 'admin.summary.participants', { n: participants.length }),
    translated('span', 'admin.summary.recording', { n: recording, finishing: records.finishing.recordings }),
    translated('span', 'admin.summary.waiting', { n: waiting }, { className: waiting ? 'warn' : '' }),
    translated(
      'span',
      'admin.summary.workers',
      { ok: workers.workers.length - unhealthy.length, n: workers.workers.length },
      {
        className: unhealthy.length ? 'warn' : '',
      },
    ),
  );
  const poorLine = poor.length
    ? el(
        'p',
        { id: 'poor-lines', className: 'alert' },
        translated('strong', 'admin.summary.poorLines', { n: poor.length }),
        ...poor.map((p) =>
          translated('span', 'admin.summary.poorPerson', { name: p.name, site: p.site.name, room: p.room }, { className: 'poor-person' }),
        ),
      )
    : translated('p', 'admin.summary.noPoorLines', undefined, { id: 'poor-lines', className: 'ok' });
  container.replaceChildren(figures, poorLine);
}

/** Each site with the people it has in rooms right now, and how many of them are on a poor line. */
export function renderSites(container, rooms) {
  const sites = new Map();
  for (const room of rooms)
    for (const p of room.participants) {
      const site = sites.get(p.site.id) ?? { ...p.site, people: [] };
      site.people.push({ ...p, room: room.id });
      sites.set(p.site.id, site);
    }
  if (sites.size === 0) return container.replaceChildren(translated('p', 'admin.sites.none', undefined, { className: 'empty' }));
  const rows = [...sites.values()]
    .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'))
    .map((site) => {
      const poor = site.people.filter((p) => p.line.quality === 'poor');
      const row = el(
        'tr',
        { className: poor.length ? 'poor' : '' },
        cell(el('strong', {}, site.name), ' ', translated('small', 'admin.siteLevel', { level: siteLevelLabel(site.level) })),
        cell(String(new Set(site.people.map((p) => p.room)).size)),
        cell(String(site.people.length)),
        cell(poor.length ? translated('span', 'admin.sites.poorNames', { names: poor.map((p) => p.name).join('、') }) : '—'),
      );
      row.dataset.site = site.id;
      return row;
    });
  container.replaceChildren(table(['admin.sites.site', 'admin.sites.rooms', 'admin.sites.people', 'admin.sites.poor'], rows, 'sites'));
}

function personRow(room, p, actions) {
  const line = p.line;
  const remove = translated('button', 'admin.rooms.remove', undefined, { type: 'button', className: 'small danger' });
  remove.addEventListener('click', () => actions.remove(room, p));
  const row = el(
    'tr',
    { className: line.quality === 'poor' ? 'poor' : '' },
    cell(el('strong', { className: 'name' }, p.name), ' ', translated('small', 'admin.role', { role: roleLabel(p.role) })),
    cell(qualityBadge(line.quality)),
    cell(line.rttMs === null ? '—' : `${line.rttMs} ms`),
    cell(line.lossPercent === null ? '—' : `${line.lossPercent} %`),
    cell(translated('span', 'admin.rooms.bitrates', { up: kbps(line.sendBitrate), down: kbps(line.recvBitrate) })),
    cell(remove),
  );
  row.dataset.participant = p.id;
  row.dataset.quality = line.quality;
  return row;
}

/** One room: what it is, how long it runs, whether it records; its people grouped by site. */
function roomCard(room, actions) {
  const kind = { key: `kind.${room.kind}` };
  const title = room.caseId
    ? translated('h3', 'admin.room.titleWithCase', { kind, room: room.id, caseId: room.caseId })
    : translated('h3', 'admin.room.title', { kind, room: room.id });
  const close = translated('button', 'admin.rooms.close', undefined, { type: 'button', className: 'small danger' });
  close.addEventListener('click', () => actions.close(room));
  const facts = el(
    'p',
    { className: 'facts' },
    translated('span', 'admin.rooms.duration', { time: clock(room.durationSeconds) }),
    translated('span', 'admin.rooms.people', { n: room.participants.length, waiting: room.waiting }),
    room.recording
      ? translated('span', 'admin.rooms.recording', { since: { time: room.recording.startedAt } }, { className: 'recording' })
      : translated('span', 'admin.rooms.notRecording'),
    room.locked ? translated('span', 'admin.rooms.locked') : null,
  );
  const bySite = new Map();
  for (const p of room.participants) bySite.set(p.site.id, [...(bySite.get(p.site.id) ?? []), p]);
  const groups = [...bySite.values()].map((people) => {
    const site = people[0].site;
    const heading = el('h4', {}, site.name, ' ', translated('small', 'admin.siteLevel', { level: siteLevelLabel(site.level) }));
    const headings = [
      'admin.rooms.person',
      'admin.rooms.line',
      'admin.rooms.rtt',
      'admin.rooms.loss',
      'admin.rooms.bitrate',
      'admin.rooms.actions',
    ];
    const group = el(
      'div',
      { className: 'site-group' },
      heading,
      table(
        headings,
        people.map((p) => personRow(room, p, actions)),
        'people',
      ),
    );
    group.dataset.site = site.id;
    return group;
  });
  const card = el('article', { className: 'room' }, el('header', {}, title, close), facts, ...groups);
  card.dataset.room = room.id;
  return card;
}

export function renderRooms(container, rooms, actions) {
  if (rooms.length === 0) return container.replaceChildren(translated('p', 'admin.rooms.none', undefined, { className: 'empty' }));
  container.replaceChildren(...rooms.map((room) => roomCard(room, actions)));
}

function workerState(w) {
  if (w.state !== 'running') return translated('span', `admin.worker.${w.state}`, { reason: w.reason }, { className: 'warn' });
  return w.healthy
    ? translated('span', 'admin.worker.healthy')
    : translated('span', 'admin.worker.late', { ms: w.silentMs }, { className: 'warn' });
}

export function renderWorkers(container, { workers, problems }) {
  const figure = (value, unit = '') => (value === null || value === undefined ? '—' : `${value}${unit}`);
  const rows = workers.map((w) => {
    const row = el(
      'tr',
      { className: w.healthy ? '' : 'poor' },
      cell(String(w.index)),
      cell(figure(w.pid)),
      cell(workerState(w)),
      cell(figure(w.cpuPercent, ' %')),
      cell(figure(w.peakMemoryBytes === undefined || w.peakMemoryBytes === null ? null : Math.round(w.peakMemoryBytes / 1048576), ' MB')),
      cell(figure(w.routers)),
      cell(figure(w.transports)),
      cell(figure(w.producers)),
      cell(figure(w.consumers)),
    );
    row.dataset.worker = String(w.index);
    return row;
  });
  const headings = ['admin.worker.index', 'admin.worker.pid', 'admin.worker.state', 'admin.worker.cpu', 'admin.worker.memory'];
  const counts = ['admin.worker.routers', 'admin.worker.transports', 'admin.worker.producers', 'admin.worker.consumers'];
  const list = problems.length ? el('ul', { className: 'problems', lang: 'en' }, ...problems.map((p) => el('li', {}, p))) : null;
  container.replaceChildren(table([...headings, ...counts], rows, 'workers'), ...(list ? [list] : []));
}

function sinkRow(sink) {
  return el(
    'tr',
    { className: sink.pending ? 'poor' : '' },
    cell(sink.sink),
    cell(String(sink.pending)),
    cell(sink.oldestAgeSeconds === null ? '—' : clock(sink.oldestAgeSeconds)),
    cell(sink.lastError ? el('span', { lang: 'en' }, sink.lastError.message) : '—'),
  );
}

function pendingRow(sink, entry, actions) {
  const retry = translated('button', 'admin.records.retry', undefined, { type: 'button', className: 'small' });
  retry.addEventListener('click', () => actions.retry(entry));
  const row = el(
    'tr',
    {},
    cell(sink.sink),
    cell(el('code', {}, entry.entryId)),
    cell(clock(entry.ageSeconds)),
    cell(String(entry.attempts)),
    cell(entry.lastError ? el('span', { lang: 'en' }, entry.lastError.message) : '—'),
    cell(retry),
  );
  row.dataset.entry = entry.entryId;
  return row;
}

function recentRow(entry) {
  const states = entry.deliveries.map((d) => translated('span', `admin.delivery.${d.state}`, { sink: d.sink }));
  return el(
    'tr',
    {},
    cell(translate(el('span'), 'admin.time', { at: { time: entry.handedOffAt } })),
    cell(entry.caseId ?? '—'),
    cell(entry.roomId),
    cell(translated('span', entry.recording ? 'admin.records.recording' : 'admin.records.trail')),
    cell(...(states.length ? states : [translated('span', 'admin.records.archiveOnly')])),
  );
}

/** Recordings being finished, what waits per remote sink (with a retry), and the entries handed over lately. */
export function renderRecords(container, records, actions) {
  const parts = [translated('p', 'admin.records.finishing', { n: records.finishing.recordings })];
  if (records.outbox) {
    const sinkHeadings = ['admin.records.sink', 'admin.records.pending', 'admin.records.oldest', 'admin.records.lastError'];
    parts.push(table(sinkHeadings, records.outbox.sinks.map(sinkRow), 'sinks'));
    const pending = records.outbox.sinks.flatMap((s) => s.entries.map((e) => pendingRow(s, e, actions)));
    if (pending.length) {
      const headings = [
        'admin.records.sink',
        'admin.records.entry',
        'admin.records.age',
        'admin.records.attempts',
        'admin.records.lastError',
        'admin.rooms.actions',
      ];
      parts.push(translated('h3', 'admin.records.waitingTitle'), table(headings, pending, 'pending'));
    }
  } else parts.push(translated('p', 'admin.records.noRemote'));
  parts.push(translated('h3', 'admin.records.recentTitle'));
  parts.push(
    records.recent.length
      ? table(
          ['admin.records.handedOff', 'admin.records.case', 'admin.records.room', 'admin.records.kind', 'admin.records.delivery'],
          records.recent.map(recentRow),
          'recent',
        )
      : translated('p', 'admin.records.noneRecent', undefined, { className: 'empty' }),
  );
  container.replaceChildren(...parts);
}
