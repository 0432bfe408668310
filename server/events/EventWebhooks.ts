/**
 * Signed event webhooks for the hospital's own systems (issue #12): rooms starting and finishing,
 * people joining and leaving, tracks, recordings and HLS output, as they happen on this node. Each
 * event is written to a durable outbox before anything else happens to it, then POSTed signed exactly
 * like case records (`postSignedJson`: HMAC header + short-lived JWT with the body's hash; audience
 * `room-event`), retried with backoff across restarts until the receiver answers 2xx: at least once,
 * with an id to de-duplicate. A room's events go out in the order they happened — a later one waits
 * until the earlier is delivered — while other rooms' events go ahead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Outbox, postSignedJson, type OutboxSink } from '../../recordings/index.js';
import type { EventWebhookConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { HlsService } from '../media/HlsService.js';
import type { RoomRecord } from '../records/RoomRecord.js';
import type { Room } from '../rooms/Room.js';
import { RoomEventSource, type EventChannel } from './RoomEventSource.js';
import type { RoomEvent, RoomEventType } from './types.js';

/** The JWT audience of event webhooks: a case-record receiver refuses them, and the other way round. */
export const EVENT_WEBHOOK_AUDIENCE = 'room-event';
/** Names the event type on each POST, so a receiver can route before parsing. */
export const EVENT_TYPE_HEADER = 'x-telemed-event';
/** Deliveries in flight at once, each for a different room. */
const CONCURRENCY = 4;

class EventWebhookSink implements OutboxSink<RoomEvent> {
  readonly name = 'event-webhook';
  readonly #config: EventWebhookConfig;

  constructor(config: EventWebhookConfig) {
    this.#config = config;
  }

  async deliver(event: RoomEvent, signal?: AbortSignal): Promise<void> {
    const target = { url: this.#config.url, secret: this.#config.secret, audience: EVENT_WEBHOOK_AUDIENCE };
    await postSignedJson(target, JSON.stringify(event), event.id, 'room-event', signal, { [EVENT_TYPE_HEADER]: event.type });
  }
}

export class EventWebhooks implements EventChannel {
  readonly node: string | null;
  readonly includeNames: boolean;
  readonly #events: ReadonlySet<RoomEventType>;
  readonly #outbox: Outbox<RoomEvent>;
  readonly #sources = new Map<Room, RoomEventSource>();
  readonly #log: Logger;
  #lastMs = 0;
  #counter = 0;

  private constructor(config: EventWebhookConfig, outbox: Outbox<RoomEvent>, node: string | null, log: Logger) {
    this.node = node;
    this.includeNames = config.includeNames;
    this.#events = new Set(config.events);
    this.#outbox = outbox;
    this.#log = log;
  }

  /** Opens the outbox (what an earlier run left pending goes out first) and starts delivering. */
  static open(config: EventWebhookConfig, node: string | null, log: Logger): EventWebhooks {
    const outbox = Outbox.open<RoomEvent>({
      dir: config.outboxDir,
      sinks: [new EventWebhookSink(config)],
      log,
      label: 'room event',
      orderKey: (event) => event.room.id,
      concurrency: CONCURRENCY,
      keepDelivered: false, // ids are never reused: nothing to guard against, and events are many
      baseDelayMs: config.retry.baseMs,
      maxDelayMs: config.retry.maxMs,
    });
    log.info({ events: config.events, includeNames: config.includeNames }, 'event webhooks on');
    return new EventWebhooks(config, outbox, node, log);
  }

  /** Follows a room from its creation (its case record just opened) until it finished. */
  watchRoom(room: Room, record: RoomRecord): void {
    this.#sources.set(room, new RoomEventSource(room, record, this, randomUUID(), this.#log));
    room.once('closed', () => this.#sources.delete(room));
  }

  /** HLS output is the HlsService's to start and stop; its room's source tells the hospital. */
  watchHls(hls: HlsService): void {
    hls.on('started', (room, url, by) => this.#sources.get(room)?.hlsStarted(url, by));
    hls.on('stopped', (room, by) => this.#sources.get(room)?.hlsStopped(by));
  }

  wants(type: RoomEventType): boolean {
    return this.#events.has(type);
  }

  /** `ev-<ms><counter>-<random>`: sorts in the order handed out (pending files are read back in name order). */
  nextId(): string {
    const now = Math.max(Date.now(), this.#lastMs); // never backwards, whatever the clock does
    this.#counter = now === this.#lastMs ? this.#counter + 1 : 0;
    this.#lastMs = now;
    return `ev-${now.toString(36).padStart(9, '0')}${this.#counter.toString(36).padStart(4, '0')}-${randomBytes(4).toString('hex')}`;
  }

  send(event: RoomEvent): void {
    this.#outbox.enqueue(event);
  }

  /** Events not yet delivered (metrics, tests). */
  get pending(): number {
    return this.#outbox.pendingCount();
  }

  /** At shutdown: a short wait for what is in flight; what is left stays on disk for the next start. */
  async close(idleMs = 2000): Promise<void> {
    await this.#outbox.whenIdle(idleMs);
    await this.#outbox.close();
  }
}
