/**
 * The fuzz's sockets: an Actor is one person's connection (its role's token, its room and another
 * room to aim at) sending hostile messages at its own pace and following what the answers do to its
 * state; the Ledger is what the whole run saw — every outcome, the ids the server handed out, the chat
 * messages it accepted or refused — for the test's checks afterwards.
 */
import {
  ERROR_CODES,
  parseRequest,
  permissionsFor,
  type ErrorCode,
  type RequestName,
  type RequestPayload,
  type WireRtpCapabilities,
} from '../../signaling/protocol/index.js';
import { connect, type TestClient } from '../helpers/signalingClient.js';
import { token, type TokenSpec } from '../helpers/tokens.js';
import { emptyPools, harvestIds, nextMessage, Rng, type HostileMessage, type IdPools, type PayloadKind } from './generators.js';

/** Per socket: messages per second (under the server's 50/s) and messages awaiting their answer at once. */
const RATE_PER_SOCKET = 45;
const MAX_IN_FLIGHT = 6;
/** An answer must come within this (the server's own request bound is 10 s). */
const ACK_BOUND_MS = 12_000;

export interface ActorSpec {
  label: string;
  token: TokenSpec;
  room: string;
  otherRoom: string;
}

export interface ActorEnv {
  /** The run's seed: each actor draws from its own stream of it. */
  seed: number;
  url: () => string;
  caps: () => WireRtpCapabilities;
  ledger: Ledger;
}

export type ClientState = 'none' | 'waiting' | 'joined' | 'left';
export type Answer = 'ok' | ErrorCode | 'no-ack-asked' | 'lost' | 'timeout' | 'malformed';

export interface Outcome {
  actor: string;
  state: ClientState;
  name: string;
  known: boolean;
  kind: PayloadKind;
  answer: Answer;
  preview: string;
  /** The refusal's message (first 100 characters). */
  refusal?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function preview(args: unknown[]): string {
  try {
    const text = JSON.stringify(args) ?? 'undefined';
    return text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text;
  } catch (error) {
    return `<unserialisable: ${String(error)}>`;
  }
}

/** Whether the server's schema would accept this message's payload (as the server reads its arguments). */
function schemaAccepts(name: RequestName, args: unknown[]): boolean {
  try {
    // As the server gets it: through JSON (NaN and Infinity become null, which reads as "no payload").
    const received = JSON.parse(JSON.stringify(args)) as unknown[];
    parseRequest(name, received.length > 0 ? received[0] : undefined);
    return true;
  } catch {
    return false;
  }
}

export function classify(ack: unknown): Answer {
  if (typeof ack !== 'object' || ack === null) return 'malformed';
  const a = ack as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (a.ok === true) return 'ok';
  const code = a.error?.code;
  if (a.ok === false && typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) && typeof a.error?.message === 'string') {
    return code as ErrorCode;
  }
  return 'malformed';
}

/** What the run saw, shared by all sockets. */
export class Ledger {
  readonly outcomes: Outcome[] = [];
  readonly pools: IdPools = emptyPools();
  /** Chat messages the server accepted: id → text as it answered. */
  readonly acceptedChats = new Map<string, string>();
  /** Markers of chat messages the server refused (they must appear in no trail). */
  readonly refusedChatMarkers: string[] = [];
  /** Chat messages whose answer was lost with their socket (accepted or not, we cannot tell). */
  lostChats = 0;
  readonly disconnects: { actor: string; reason: string; noticed: string | undefined }[] = [];
  readonly scripted: { actor: string; name: string; answer: Answer; message?: string }[] = [];
  chatCounter = 0;

  get hostileSent(): number {
    return this.outcomes.length;
  }
}

export class Actor {
  readonly spec: ActorSpec;
  readonly rng: Rng;
  client!: TestClient;
  state: ClientState = 'none';
  selfId: string | undefined;
  /** Ids the server handed to this socket's current participant (its transports, producers…). */
  own: IdPools = emptyPools();
  #inFlight = 0;
  #nextSendAt = 0;
  /** Called with "lost" when the socket goes while answers are awaited. */
  readonly #awaiting = new Set<() => void>();
  #endedNotice: string | undefined;

  constructor(
    spec: ActorSpec,
    index: number,
    private readonly env: ActorEnv,
  ) {
    this.spec = spec;
    this.rng = new Rng(env.seed * 31 + index);
  }

  get connected(): boolean {
    return this.client?.socket.connected ?? false;
  }

  async connect(): Promise<void> {
    this.client?.close();
    this.client = await connect(this.env.url(), token({ ...this.spec.token, room: this.spec.room }));
    this.state = 'none';
    this.selfId = undefined;
    this.#endedNotice = undefined;
    const socket = this.client.socket;
    socket.onAny((name: string, payload: unknown) => this.#onNotification(name, payload));
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect')
        this.env.ledger.disconnects.push({ actor: this.spec.label, reason, noticed: this.#endedNotice });
      for (const lost of [...this.#awaiting]) lost();
    });
  }

  #onNotification(name: string, payload: unknown): void {
    // The helper keeps every notification; this run would hold thousands in memory for nothing.
    this.client.received.length = 0;
    harvestIds(this.env.ledger.pools, payload);
    if (name === 'admitted') {
      this.own = emptyPools();
      this.state = 'joined';
      this.selfId = (payload as { self: { id: string } }).self.id;
    } else if (name === 'sessionEnded') {
      this.#endedNotice = (payload as { reason: string }).reason;
      this.state = 'none';
    }
  }

  /** Follows what an answer did to this connection's state, and harvests its ids. */
  #learn(name: string, ack: unknown): void {
    const ledger = this.env.ledger;
    const isOk = classify(ack) === 'ok';
    const data = isOk ? (ack as { data: unknown }).data : undefined;
    if (!isOk) return;
    // A new participant owns nothing yet: what the last one had closed with it.
    if (name === 'join' || name === 'resume') this.own = emptyPools();
    const owner = name === 'createTransport' ? 'transportId' : name === 'consume' ? 'consumerId' : undefined;
    harvestIds(ledger.pools, data, owner);
    harvestIds(this.own, data, owner);
    if (name === 'join') {
      const joined = data as { status: 'joined' | 'waiting'; self: { id: string } };
      this.state = joined.status;
      this.selfId = joined.self.id;
    } else if (name === 'resume') {
      this.state = 'joined';
      this.selfId = (data as { self: { id: string } }).self.id;
    } else if (name === 'leave') {
      this.state = 'left';
    }
  }

  /** Sends one message the way the message says (payload or not, ack or not); resolves with its outcome. */
  send(message: HostileMessage): Promise<Outcome> {
    const base = {
      actor: this.spec.label,
      state: this.state,
      name: String(message.name).slice(0, 80),
      known: message.known,
      kind: message.kind,
      preview: preview(message.args),
    };
    const chatMarker = this.#markChat(message);
    const emit = this.client.socket.emit.bind(this.client.socket) as unknown as (...args: unknown[]) => void;
    if (!message.withAck) {
      emit(message.name, ...message.args);
      return Promise.resolve({ ...base, answer: 'no-ack-asked' });
    }
    return new Promise((resolve) => {
      this.#inFlight++;
      const finish = (answer: Answer, ack?: unknown): void => {
        if (!this.#awaiting.delete(lost)) return;
        clearTimeout(timer);
        this.#inFlight--;
        if (answer !== 'lost' && answer !== 'timeout') this.#learn(String(message.name), ack);
        if (message.name === 'sendChat') this.#noteChat(answer, ack, chatMarker);
        const refusal = (ack as { error?: { message?: unknown } } | undefined)?.error?.message;
        resolve({ ...base, answer, ...(typeof refusal === 'string' ? { refusal: refusal.slice(0, 100) } : {}) });
      };
      const lost = () => finish('lost');
      const timer = setTimeout(() => finish('timeout'), ACK_BOUND_MS);
      this.#awaiting.add(lost);
      emit(message.name, ...message.args, (ack: unknown) => finish(classify(ack), ack));
    });
  }

  /** Most chat texts get a unique marker, so a refused one can be looked for in the trail. */
  #markChat(message: HostileMessage): string | undefined {
    const payload = message.args[0] as { text?: unknown } | undefined;
    if (message.name !== 'sendChat' || typeof payload?.text !== 'string' || !this.rng.chance(0.8)) return undefined;
    const marker = `⟪fuzz ${this.env.seed} #${++this.env.ledger.chatCounter}⟫`;
    payload.text = `${payload.text} ${marker}`;
    return marker;
  }

  #noteChat(answer: Answer, ack: unknown, marker: string | undefined): void {
    const ledger = this.env.ledger;
    if (answer === 'ok') {
      const { message } = (ack as { data: { message: { id: string; text: string } } }).data;
      ledger.acceptedChats.set(message.id, message.text);
    } else if (answer === 'lost' || answer === 'timeout') {
      ledger.lostChats++;
    } else if (marker) {
      ledger.refusedChatMarkers.push(marker);
    }
  }

  /** A scripted (valid) request of the harness, not counted as hostile; its answer is still checked. */
  async call<N extends RequestName>(name: N, payload: RequestPayload<N>): Promise<unknown> {
    const ack = await this.client.raw(name, payload).catch(() => undefined);
    const answer = ack === undefined ? 'timeout' : classify(ack);
    this.env.ledger.scripted.push({
      actor: this.spec.label,
      name,
      answer,
      ...(ack && !ack.ok ? { message: ack.error.message } : {}),
    });
    if (ack) this.#learn(name, ack);
    if (name === 'sendChat') this.#noteChat(answer, ack, undefined);
    return answer === 'ok' ? (ack as { data: unknown }).data : undefined;
  }

  /**
   * A chat message that is valid but no friendlier for it (CR/LF, a control character, emoji, a lone
   * surrogate, Chinese): the random stream alone gets few accepted (the chat limit is 5 per 5 s per
   * person, and most of its messages are malformed), and the trail check wants a good number.
   */
  async chatLegitimately(): Promise<void> {
    const { kind = 'consultation', role = 'specialist' } = this.spec.token;
    if (this.state !== 'joined' || !permissionsFor(kind, role).has('chat')) return;
    await this.call('sendChat', { text: `${this.spec.token.name}：病理报告\r\n已上传 🩺\u0007 \ud800 #${++this.env.ledger.chatCounter}` });
  }

  /** Sends `count` hostile messages at this socket's pace, reconnecting if the server ended the session. */
  async burst(count: number, deadline: number): Promise<void> {
    const sent: Promise<Outcome>[] = [];
    const ledger = this.env.ledger;
    for (let i = 0; i < count && Date.now() < deadline; i++) {
      while (this.#inFlight >= MAX_IN_FLIGHT) await sleep(5);
      const wait = this.#nextSendAt - Date.now();
      if (wait > 0) await sleep(wait);
      this.#nextSendAt = Math.max(this.#nextSendAt, Date.now()) + 1000 / RATE_PER_SOCKET;
      // Checked last (from here to the emit nothing awaits): socket.io-client would buffer a message
      // for a socket the server has just closed, and it would never be answered.
      if (!this.connected) await this.connect();
      const ctx = {
        pools: ledger.pools,
        own: this.own,
        caps: this.env.caps(),
        room: this.spec.room,
        otherRoom: this.spec.otherRoom,
        selfId: this.selfId,
      };
      // An endRoom the lead's socket may send and the schema accepts would end the consultation for
      // good (an ended room refuses every later join): the rest of the run would probe nothing but
      // refusals of `join`. Its malformed forms are sent; so is every socket's endRoom that lacks the right.
      const avoid = (name: RequestName, args: unknown[]) =>
        name === 'endRoom' && this.spec.token.role === 'lead_specialist' && schemaAccepts(name, args);
      sent.push(this.send(nextMessage(this.rng, ctx, avoid)).then((o) => (ledger.outcomes.push(o), o)));
    }
    await Promise.all(sent);
  }

  /**
   * Joins (or waits in the lobby) unless already in. One try unless `patient`: a refusal (the join
   * throttle, say) leaves the socket sending from where it is, which is fuzzing too.
   */
  async ensureIn(patient = false): Promise<void> {
    if (!this.connected) await this.connect();
    for (let attempt = 0; attempt < (patient ? 4 : 1) && (this.state === 'none' || this.state === 'left'); attempt++) {
      if (attempt > 0) await sleep(1_000);
      await this.call('join', { rtpCapabilities: this.env.caps() });
    }
  }

  /**
   * Gives a participant in the room a send and a receive transport of its own, so that valid samples
   * of produce, consume and the rest reach the media worker instead of stopping at "no such transport".
   */
  async prepareMedia(): Promise<void> {
    if (this.state !== 'joined' || this.own.transportId.size > 0) return;
    await this.call('createTransport', { direction: 'send' });
    await this.call('createTransport', { direction: 'recv' });
  }

  close(): void {
    this.client?.close();
  }
}
