/**
 * Metrics whose figures live elsewhere (a pool's counters, an outbox's queue, the rooms open now):
 * rather than copying every change into prom-client, each is read from its source at scrape time.
 * A reading lists its series; a source with nothing to say (the data disk unreadable, a cluster
 * node not joined yet) lists none, so no made-up zero is served, and series of things gone (a
 * replaced worker) disappear with them.
 */
import { Counter, Gauge, type LabelValues, type Registry } from 'prom-client';

export type Series<L extends string> = readonly [labels: LabelValues<L>, value: number];
export type Reader<L extends string> = () => Iterable<Series<L>>;

interface ReadingConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** A gauge read at each scrape. */
export class ReadGauge<L extends string = never> extends Gauge<L> {
  readonly #read: Reader<L>;

  constructor(registry: Registry, config: ReadingConfig<L>, read: Reader<L>) {
    super({ ...config, labelNames: config.labelNames ?? [], registers: [registry] });
    this.#read = read;
  }

  override async get(): ReturnType<Gauge<L>['get']> {
    return { ...(await super.get()), values: valuesOf(this.#read) };
  }
}

/** A running total kept by its source (it only grows, or restarts at zero with its process): read at each scrape. */
export class ReadCounter<L extends string = never> extends Counter<L> {
  readonly #read: Reader<L>;

  constructor(registry: Registry, config: ReadingConfig<L>, read: Reader<L>) {
    super({ ...config, labelNames: config.labelNames ?? [], registers: [registry] });
    this.#read = read;
  }

  override async get(): ReturnType<Counter<L>['get']> {
    return { ...(await super.get()), values: valuesOf(this.#read) };
  }
}

const valuesOf = <L extends string>(read: Reader<L>) => [...read()].map(([labels, value]) => ({ labels, value }));

/** One unlabelled value; none when the source has none. */
export const single = (value: number | undefined): Series<never>[] => (value === undefined ? [] : [[{}, value]]);

/** 1 / 0 for a flag (Prometheus has no booleans). */
export const flag = (on: boolean): number => (on ? 1 : 0);
