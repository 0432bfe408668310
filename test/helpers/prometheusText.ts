/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4), enough to check what
 * `/metrics` serves: `# HELP` / `# TYPE` lines, samples `name{label="value",…} number`, label values
 * with their escapes (\\, \", \n). Anything it cannot read is an error naming the line — a test
 * using it fails on output Prometheus would refuse, instead of skipping it.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Declared types by metric family name. */
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1} is not Prometheus text (${why}): ${line}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const [, keyword, name, rest] = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line) ?? [];
      if (!keyword) return; // a plain comment
      if (!NAME.test(name!)) fail('bad metric name');
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest!)) fail('unknown type');
        if (types.has(name!)) fail('type declared twice');
        types.set(name!, rest!);
      }
      return;
    }
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      while (!rest.startsWith('}')) {
        const m = LABEL.exec(rest) ?? fail('bad label');
        labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(m[0].length);
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}')) fail('labels not closed');
      }
      rest = rest.slice(1);
    }
    const [value, timestamp, extra] = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || value === undefined || extra !== undefined) fail('expected " value [timestamp]"');
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) fail('bad timestamp');
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan"
    // for an event-loop histogram that took no sample since the last scrape).
    const text = value ?? '';
    const nan = /^nan$/i.test(text);
    const number = /^\+inf$/i.test(text) ? Infinity : /^-inf$/i.test(text) ? -Infinity : nan ? NaN : Number(text);
    if (Number.isNaN(number) && !nan) fail('bad value');
    samples.push({ name, labels, value: number });
  });
  return { types, samples };
}

/** The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count` belong to it). */
export function familyOf(exposition: Exposition, sample: string): string | undefined {
  if (exposition.types.has(sample)) return sample;
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  const type = exposition.types.get(base);
  return type === 'histogram' || type === 'summary' ? base : undefined;
}

/** Samples of one name, optionally only those whose labels include `where`. */
export function samplesOf(exposition: Exposition, name: string, where: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}
