/**
 * A light, real WebRTC receiver for load tests: joins a room over the Socket.IO protocol as a
 * receive-only participant and consumes every producer through werift (a WebRTC stack in plain
 * Node): ICE against the mediasoup ICE-lite transport, DTLS, SRTP, RTCP receiver reports, NACK and
 * PLI — everything a browser does on the wire, without decoding pixels. Video "decoding" is checked
 * by reassembling VP8 frames from RTP and reading key-frame headers; audio (Opus) is counted.
 *
 *   const viewer = await WeriftViewer.join({ url, token });
 *   await viewer.waitForKeyFrame(10_000);
 *   console.log(viewer.stats());
 *   await viewer.close();
 *
 * Loopback only: werift would otherwise ask stun.l.google.com for a server-reflexive candidate, so it
 * is given a STUN responder on 127.0.0.1 (./loopbackStun.ts), gathers host candidates on 127.0.0.1
 * only, and the remote candidates must be loopback addresses (else the viewer refuses to connect).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useNACK,
  usePLI,
  type RtpPacket,
  type RTCRtpTransceiver,
} from 'werift';
import type { RtpCapabilities, RtpCodecCapability } from 'mediasoup-client/types';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  type Ack,
  type ClientToServerEvents,
  type ConsumeResult,
  type JoinResult,
  type NotificationMap,
  type ProducerInfo,
  type RequestName,
  type RequestPayload,
  type ResponseMap,
  type ServerToClientEvents,
  type TransportOptions,
} from '../../signaling/protocol/index.js';
import { loopbackStunUrl } from './loopbackStun.js';
import { buildRecvOffer, dtlsFromAnswer, isLoopback, type OfferSection } from './recvSdp.js';
import { SequenceTracker, Vp8FrameAssembler, type AssemblerCounters } from './rtpReceive.js';

type MediaKind = 'audio' | 'video';

const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';
/** What this receiver handles: Opus and VP8; NACK and PLI for video; the MID header extension. */
const SUPPORTED_MIME = ['audio/opus', 'video/vp8'];
const VIDEO_FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }];

export interface WeriftViewerOptions {
  /** Signaling URL, e.g. http://127.0.0.1:3000 (loopback only unless `allowRemote`). */
  url: string;
  token: string;
  /** Debug log line sink (default: silent). */
  log?: (line: string) => void;
  /** Per signaling request (default 10 s). */
  requestTimeoutMs?: number;
  /** Overall bound on `join` (default 20 s). */
  joinTimeoutMs?: number;
  /** Trailing window of `stats().*.bitrateBps` (default 5 s). */
  bitrateWindowMs?: number;
  /** Allow a non-loopback signaling URL and ICE candidates (default false). */
  allowRemote?: boolean;
}

export interface KindStats {
  /** Consumers of this kind currently open. */
  consumers: number;
  /** RTP packets (unique) and their bytes (header + payload), since joining, closed consumers included. */
  packets: number;
  bytes: number;
  /** RFC 3550 loss: packets expected from the sequence numbers, and how many of them never arrived. */
  expected: number;
  lost: number;
  /** Received bitrate over the trailing window (bits per second). */
  bitrateBps: number;
}

export interface VideoStats extends KindStats, AssemblerCounters {
  /** Size of the last key frame received, from its VP8 frame header. */
  width: number | undefined;
  height: number | undefined;
  /** PLIs this viewer sent (no key frame yet, or frames lost since the last one). */
  pliSent: number;
}

export interface ViewerStats {
  /** performance.now() when taken. */
  at: number;
  participantId: string | undefined;
  connectionState: string;
  /** performance.now() when `join` was called; the durations below count from there (ms). */
  joinRequestedAt: number;
  joinedMs: number | undefined;
  transportConnectedMs: number | undefined;
  firstRtpMs: number | undefined;
  firstKeyFrameMs: number | undefined;
  audio: KindStats;
  video: VideoStats;
}

export interface ViewerEvents {
  firstRtp: [kind: MediaKind];
  keyFrame: [info: { consumerId: string; width: number; height: number }];
  consumerAdded: [info: { consumerId: string; producerId: string; kind: MediaKind; source: string }];
  consumerClosed: [consumerId: string];
  /** Something went wrong but the viewer carries on (e.g. a producer closed while being consumed). */
  warning: [message: string];
  /** The session is over (closed by us, the server, or the socket). */
  closed: [reason: string];
}

interface ConsumerState {
  info: ConsumeResult;
  mid: string;
  ssrc: number;
  closed: boolean;
  seq: SequenceTracker;
  assembler: Vp8FrameAssembler | undefined;
  bytes: number;
  transceiver: RTCRtpTransceiver | undefined;
  firstRtpAt: number | undefined;
  lastPliAt: number;
}

interface Counters {
  packets: number;
  bytes: number;
  expected: number;
  lost: number;
  frames: number;
  keyFrames: number;
  decodableFrames: number;
  incompleteFrames: number;
  corruptFrames: number;
}

const zeroCounters = (): Counters => ({ packets: 0, bytes: 0, expected: 0, lost: 0, frames: 0, keyFrames: 0, decodableFrames: 0, incompleteFrames: 0, corruptFrames: 0 });

/** Bytes per 250 ms bucket, for trailing-window bitrates. */
class BitrateMeter {
  static readonly BUCKET_MS = 250;
  readonly #buckets: { start: number; bytes: number }[] = [];
  #firstAt: number | undefined;

  add(now: number, bytes: number): void {
    this.#firstAt ??= now;
    const start = now - (now % BitrateMeter.BUCKET_MS);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last && last.start === start) last.bytes += bytes;
    else this.#buckets.push({ start, bytes });
    while (this.#buckets.length > 240) this.#buckets.shift(); // 60 s
  }

  bps(now: number, windowMs: number): number {
    if (this.#firstAt === undefined) return 0;
    const from = now - windowMs;
    const span = Math.min(windowMs, now - this.#firstAt);
    if (span <= 0) return 0;
    const bytes = this.#buckets.filter((b) => b.start >= from).reduce((a, b) => a + b.bytes, 0);
    return (8 * bytes * 1000) / span;
  }
}

/** The RTP capabilities werift can receive, in the router's own payload types and extension ids. */
export function viewerRtpCapabilities(router: RtpCapabilities): RtpCapabilities {
  const codecs: RtpCodecCapability[] = (router.codecs ?? [])
    .filter((c) => SUPPORTED_MIME.includes(c.mimeType.toLowerCase()))
    .map((c) => ({ ...c, rtcpFeedback: c.kind === 'video' ? VIDEO_FEEDBACK.map((f) => ({ ...f })) : [] }));
  const headerExtensions = (router.headerExtensions ?? []).filter((e) => e.uri === MID_EXTENSION).map((e) => ({ ...e, direction: 'sendrecv' as const }));
  return { codecs, headerExtensions };
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class WeriftViewer extends EventEmitter<ViewerEvents> {
  readonly #options: Required<Omit<WeriftViewerOptions, 'log'>> & { log: (line: string) => void };
  readonly #socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly #t0: number;
  #pc: RTCPeerConnection | undefined;
  #participantId: string | undefined;
  #transport: TransportOptions | undefined;
  #transportConnectRequested = false;
  /** Open consumers (closed ones are dropped once their counters are folded into #retired). */
  readonly #consumers = new Map<string, ConsumerState>();
  /**
   * The offer's m-sections in order. A closed consumer's section goes inactive at the next
   * negotiation; once werift has answered it inactive, a new consumer recycles it (as mediasoup-client
   * does, and as werift expects: it reuses its first inactive transceiver for the next new m-section).
   */
  readonly #slots: { consumer: ConsumerState; state: 'active' | 'closing' | 'inactive' }[] = [];
  readonly #bySsrc = new Map<number, ConsumerState>();
  /** Producers announced before the receive transport existed, or waiting for the next batch. */
  readonly #toConsume = new Map<string, ProducerInfo>();
  readonly #retired: Record<MediaKind, Counters> = { audio: zeroCounters(), video: zeroCounters() };
  readonly #meters: Record<MediaKind, BitrateMeter> = { audio: new BitrateMeter(), video: new BitrateMeter() };
  readonly #subscribedTracks = new WeakSet<MediaStreamTrack>();
  #chain: Promise<void> = Promise.resolve();
  #batchScheduled = false;
  #sdpVersion = 0;
  readonly #sdpSessionId = String(Math.floor(Math.random() * 1e12));
  #joinedAt: number | undefined;
  #transportConnectedAt: number | undefined;
  #firstRtpAt: number | undefined;
  #firstKeyFrameAt: number | undefined;
  #lastKeyFrame: { width: number; height: number } | undefined;
  #pliSent = 0;
  #closed = false;
  #pliTimer: NodeJS.Timeout | undefined;
  #stunUrl = '';
  /** Rejecters of requests awaiting an answer: a shutdown fails them at once. */
  readonly #pending = new Set<(error: Error) => void>();
  /** The last warnings (also emitted as 'warning' events), including those raised during `join`. */
  readonly warnings: string[] = [];

  private constructor(options: WeriftViewerOptions) {
    super();
    this.on('warning', (message) => {
      this.warnings.push(message);
      if (this.warnings.length > 50) this.warnings.shift();
    });
    this.#t0 = performance.now();
    this.#options = {
      requestTimeoutMs: 10_000,
      joinTimeoutMs: 20_000,
      bitrateWindowMs: 5_000,
      allowRemote: false,
      ...options,
      log: options.log ?? (() => undefined),
    };
    if (!this.#options.allowRemote && !isLoopback(new URL(options.url).hostname)) throw new Error(`refusing non-loopback signaling URL ${options.url}`);
    this.#socket = io(options.url, {
      auth: { token: options.token, protocolVersion: PROTOCOL_VERSION },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: this.#options.requestTimeoutMs,
    });
  }

  /** Connects, joins, creates the receive transport and consumes what is already published. */
  static async join(options: WeriftViewerOptions): Promise<WeriftViewer> {
    const viewer = new WeriftViewer(options);
    try {
      await timeout(viewer.#start(), viewer.#options.joinTimeoutMs, 'viewer join');
      return viewer;
    } catch (error) {
      await viewer.close();
      throw error;
    }
  }

  get participantId(): string | undefined {
    return this.#participantId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The server-side receive transport's id, once created. */
  get transportId(): string | undefined {
    return this.#transport?.id;
  }

  /** werift's peer connection (diagnostics: getStats(), transceivers). */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.#pc;
  }

  /** The ICE servers werift was configured with (all loopback; exposed for tests). */
  get iceServerUrls(): string[] {
    return (this.#pc?.getConfiguration().iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  }

  /** werift's local ICE candidates' addresses, from its last local description (for tests). */
  get localCandidateAddresses(): string[] {
    const sdp = this.#pc?.localDescription?.sdp ?? '';
    return [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ/gm)].map((m) => m[1]!);
  }

  /** Remote (mediasoup) address of the ICE pair in use, if connected. */
  get selectedRemoteAddress(): string | undefined {
    const pair = this.#pc?.iceTransports[0]?.connection.nominated;
    return pair?.remoteCandidate.host;
  }

  async #start(): Promise<void> {
    this.#wireNotifications();
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('connect_error', (error) => reject(new Error(`signaling connect failed: ${error.message}`)));
    });
    this.#socket.on('disconnect', (reason) => void this.#shutdown(`signaling ${reason}`));
    this.#stunUrl = await loopbackStunUrl();
    const { rtpCapabilities: routerCaps } = await this.#request('getRouterRtpCapabilities', {});
    const caps = viewerRtpCapabilities(routerCaps);
    this.#pc = this.#createPeerConnection(caps);
    const joined = await this.#request('join', { rtpCapabilities: caps });
    let result: JoinResult;
    if (joined.status === 'waiting') {
      this.#options.log('waiting in the lobby');
      result = await new Promise<JoinResult>((resolve) => this.#socket.once('admitted', resolve));
    } else {
      result = joined;
    }
    this.#joinedAt = performance.now();
    this.#participantId = result.self.id;
    for (const producer of result.producers) this.#toConsume.set(producer.id, producer);
    this.#transport = await this.#request('createTransport', { direction: 'recv' });
    for (const c of this.#transport.iceCandidates) {
      if (!this.#options.allowRemote && !isLoopback(c.address ?? c.ip)) throw new Error(`refusing non-loopback ICE candidate ${c.address}`);
    }
    this.#pliTimer = setInterval(() => this.#requestKeyFrames(), 500);
    this.#pliTimer.unref();
    this.#scheduleBatch();
    await this.#chain;
  }

  #createPeerConnection(caps: RtpCapabilities): RTCPeerConnection {
    const codec = (kind: MediaKind) =>
      (caps.codecs ?? [])
        .filter((c) => c.kind === kind)
        .map(
          (c) =>
            new RTCRtpCodecParameters({
              mimeType: c.mimeType,
              clockRate: c.clockRate,
              payloadType: c.preferredPayloadType,
              ...(c.channels ? { channels: c.channels } : {}),
              rtcpFeedback: kind === 'video' ? [useNACK(), usePLI()] : [],
            }),
        );
    const ext = (kind: MediaKind) =>
      (caps.headerExtensions ?? []).filter((e) => e.kind === kind).map((e) => new RTCRtpHeaderExtensionParameters({ id: e.preferredId, uri: e.uri }));
    const pc = new RTCPeerConnection({
      codecs: { audio: codec('audio'), video: codec('video') },
      headerExtensions: { audio: ext('audio'), video: ext('video') },
      // Loopback only: our own STUN responder (werift's fallback would be stun.l.google.com), no
      // interface addresses but 127.0.0.1, no IPv6, no TCP, and only pairs towards loopback.
      iceServers: [{ urls: this.#stunUrl }],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceUseTcp: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceFilterCandidatePair: (pair) => this.#options.allowRemote || (isLoopback(pair.localCandidate.host) && isLoopback(pair.remoteCandidate.host)),
      bundlePolicy: 'max-bundle',
    });
    pc.onTrack.subscribe((track) => this.#subscribeTrack(track));
    pc.connectionStateChange.subscribe((state) => {
      this.#options.log(`pc ${state}`);
      if (state === 'connected') this.#transportConnectedAt ??= performance.now();
      if (state === 'failed') this.emit('warning', 'peer connection failed');
    });
    return pc;
  }

  #subscribeTrack(track: MediaStreamTrack): void {
    if (this.#subscribedTracks.has(track)) return;
    this.#subscribedTracks.add(track);
    track.onReceiveRtp.subscribe((packet) => this.#onRtp(packet));
  }

  #onRtp(packet: RtpPacket): void {
    const consumer = this.#bySsrc.get(packet.header.ssrc);
    if (!consumer || consumer.closed) return;
    const now = performance.now();
    const ext = consumer.seq.push(packet.header.sequenceNumber);
    if (ext === undefined) return; // duplicate
    const bytes = packet.header.serializeSize + packet.payload.length;
    consumer.bytes += bytes;
    const kind = consumer.info.kind;
    this.#meters[kind].add(now, bytes);
    if (consumer.firstRtpAt === undefined) consumer.firstRtpAt = now;
    if (this.#firstRtpAt === undefined) {
      this.#firstRtpAt = now;
      this.emit('firstRtp', kind);
    }
    if (consumer.assembler) {
      const frame = consumer.assembler.push(ext, packet.header.timestamp, packet.header.marker, packet.payload);
      if (frame?.keyFrame && frame.width !== undefined && frame.height !== undefined) {
        this.#lastKeyFrame = { width: frame.width, height: frame.height };
        if (this.#firstKeyFrameAt === undefined) this.#firstKeyFrameAt = now;
        this.emit('keyFrame', { consumerId: consumer.info.id, width: frame.width, height: frame.height });
      }
    }
  }

  /** What a decoder does: ask for a key frame while it has none or lost frames since the last one. */
  #requestKeyFrames(): void {
    const now = performance.now();
    for (const c of this.#consumers.values()) {
      if (c.closed || !c.assembler || !c.transceiver || c.firstRtpAt === undefined) continue;
      if (!c.assembler.needsKeyFrame || now - c.firstRtpAt < 500 || now - c.lastPliAt < 1000) continue;
      c.lastPliAt = now;
      this.#pliSent++;
      c.transceiver.receiver.sendRtcpPLI(c.ssrc).catch(() => undefined);
    }
  }

  #wireNotifications(): void {
    this.#socket.on('producerAdded', ({ producer }) => {
      this.#toConsume.set(producer.id, producer);
      this.#scheduleBatch();
    });
    this.#socket.on('producerClosed', ({ producerId }) => {
      this.#toConsume.delete(producerId);
      for (const c of this.#consumers.values()) if (c.info.producerId === producerId) this.#closeConsumer(c);
    });
    this.#socket.on('consumerClosed', ({ consumerId, producerId }) => {
      this.#toConsume.delete(producerId);
      const c = this.#consumers.get(consumerId);
      if (c) this.#closeConsumer(c);
    });
    this.#socket.on('participantLeft', ({ participantId }: NotificationMap['participantLeft']) => {
      for (const [id, p] of this.#toConsume) if (p.participantId === participantId) this.#toConsume.delete(id);
      for (const c of this.#consumers.values()) if (c.info.participantId === participantId) this.#closeConsumer(c);
    });
    this.#socket.on('sessionEnded', ({ reason }) => void this.#shutdown(`session ended: ${reason}`));
  }

  /** Coalesces producer announcements: one consume round and one renegotiation per batch. */
  #scheduleBatch(): void {
    if (this.#batchScheduled || !this.#transport || this.#closed) return;
    this.#batchScheduled = true;
    this.#enqueue(async () => {
      this.#batchScheduled = false;
      await this.#consumeBatch();
    });
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((error: unknown) => {
      if (!this.#closed) this.emit('warning', `negotiation: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  async #consumeBatch(): Promise<void> {
    const transport = this.#transport!;
    const producers = [...this.#toConsume.values()];
    this.#toConsume.clear();
    const added: ConsumerState[] = [];
    for (const producer of producers) {
      if (this.#closed) return;
      let info: ConsumeResult;
      try {
        info = await this.#request('consume', { producerId: producer.id, transportId: transport.id });
      } catch (error) {
        // The producer may have closed meanwhile; the rest of the batch goes on.
        this.emit('warning', `consume ${producer.kind} ${producer.id}: ${(error as Error).message}`);
        continue;
      }
      const mid = info.rtpParameters.mid;
      const ssrc = info.rtpParameters.encodings?.[0]?.ssrc;
      if (mid === undefined || ssrc === undefined) {
        this.emit('warning', `consumer ${info.id} has no mid or ssrc`);
        continue;
      }
      const state: ConsumerState = {
        info,
        mid,
        ssrc,
        closed: false,
        seq: new SequenceTracker(),
        assembler: info.kind === 'video' ? new Vp8FrameAssembler() : undefined,
        bytes: 0,
        transceiver: undefined,
        firstRtpAt: undefined,
        lastPliAt: 0,
      };
      this.#consumers.set(info.id, state);
      const free = this.#slots.find((slot) => slot.state === 'inactive');
      if (free) Object.assign(free, { consumer: state, state: 'active' });
      else this.#slots.push({ consumer: state, state: 'active' });
      this.#bySsrc.set(ssrc, state);
      added.push(state);
      this.emit('consumerAdded', { consumerId: info.id, producerId: info.producerId, kind: info.kind, source: info.source });
    }
    if (added.length === 0 || this.#closed) return;
    await this.#negotiate();
    for (const c of added) {
      if (c.closed || this.#closed) continue;
      try {
        await this.#request('resumeConsumer', { consumerId: c.info.id });
      } catch (error) {
        this.emit('warning', `resume ${c.info.id}: ${(error as Error).message}`);
      }
    }
  }

  /** Offers every m-section (closed ones inactive) and applies werift's answer. */
  async #negotiate(): Promise<void> {
    const pc = this.#pc!;
    const offered = this.#slots.map((slot) => ({ slot, state: slot.state }));
    const sections: OfferSection[] = offered.map(({ slot: { consumer: c }, state }) => ({
      kind: c.info.kind,
      rtpParameters: c.info.rtpParameters,
      closed: state !== 'active',
      streamId: c.info.participantId,
      trackId: c.info.id,
    }));
    const sdp = buildRecvOffer(this.#transport!, sections, { id: this.#sdpSessionId, version: ++this.#sdpVersion, loopbackOnly: !this.#options.allowRemote });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    if (!this.#transportConnectRequested) {
      // Before setLocalDescription, as mediasoup-client does: werift starts ICE and DTLS as soon as the
      // answer is applied, and mediasoup (ICE-lite, DTLS role auto) starts its DTLS server when ICE
      // completes — after that the server refuses connectTransport, and without the fingerprint
      // mediasoup never finishes the handshake.
      this.#transportConnectRequested = true;
      await this.#request('connectTransport', { transportId: this.#transport!.id, dtlsParameters: dtlsFromAnswer(answer.sdp) });
    }
    await pc.setLocalDescription(answer);
    this.#options.log(`negotiated v${this.#sdpVersion} (${sections.length} m-sections)`);
    for (const { slot, state } of offered) if (state === 'closing' && slot.state === 'closing') slot.state = 'inactive';
    for (const c of this.#consumers.values()) {
      c.transceiver ??= pc.getTransceivers().find((t) => t.mid === c.mid && !t.stopped);
      for (const track of c.transceiver?.receiver.tracks ?? []) this.#subscribeTrack(track);
    }
  }

  #closeConsumer(c: ConsumerState): void {
    if (c.closed) return;
    c.closed = true;
    const retired = this.#retired[c.info.kind];
    retired.packets += c.seq.received;
    retired.bytes += c.bytes;
    retired.expected += c.seq.expected;
    retired.lost += c.seq.lost;
    if (c.assembler) {
      retired.frames += c.assembler.frames;
      retired.keyFrames += c.assembler.keyFrames;
      retired.decodableFrames += c.assembler.decodableFrames;
      retired.incompleteFrames += c.assembler.incompleteFrames;
      retired.corruptFrames += c.assembler.corruptFrames;
    }
    // Drop the per-stream state; the m-section goes inactive at the next negotiation.
    c.assembler = undefined;
    c.seq = new SequenceTracker();
    c.bytes = 0;
    this.#bySsrc.delete(c.ssrc);
    this.#consumers.delete(c.info.id);
    const slot = this.#slots.find((x) => x.consumer === c);
    if (slot) slot.state = 'closing';
    this.emit('consumerClosed', c.info.id);
    if (this.#transport && !this.#closed) this.#enqueue(() => this.#negotiate());
  }

  stats(): ViewerStats {
    const now = performance.now();
    const rel = (t: number | undefined) => (t === undefined ? undefined : t - this.#t0);
    const kind = (k: MediaKind): Counters & { consumers: number } => {
      const out = { ...this.#retired[k], consumers: 0 };
      for (const c of this.#consumers.values()) {
        if (c.closed || c.info.kind !== k) continue;
        out.consumers++;
        out.packets += c.seq.received;
        out.bytes += c.bytes;
        out.expected += c.seq.expected;
        out.lost += c.seq.lost;
        if (c.assembler) {
          out.frames += c.assembler.frames;
          out.keyFrames += c.assembler.keyFrames;
          out.decodableFrames += c.assembler.decodableFrames;
          out.incompleteFrames += c.assembler.incompleteFrames;
          out.corruptFrames += c.assembler.corruptFrames;
        }
      }
      return out;
    };
    const a = kind('audio');
    const v = kind('video');
    const windowMs = this.#options.bitrateWindowMs;
    return {
      at: now,
      participantId: this.#participantId,
      connectionState: this.#pc?.connectionState ?? 'new',
      joinRequestedAt: this.#t0,
      joinedMs: rel(this.#joinedAt),
      transportConnectedMs: rel(this.#transportConnectedAt),
      firstRtpMs: rel(this.#firstRtpAt),
      firstKeyFrameMs: rel(this.#firstKeyFrameAt),
      audio: { consumers: a.consumers, packets: a.packets, bytes: a.bytes, expected: a.expected, lost: a.lost, bitrateBps: this.#meters.audio.bps(now, windowMs) },
      video: {
        consumers: v.consumers,
        packets: v.packets,
        bytes: v.bytes,
        expected: v.expected,
        lost: v.lost,
        bitrateBps: this.#meters.video.bps(now, windowMs),
        frames: v.frames,
        keyFrames: v.keyFrames,
        decodableFrames: v.decodableFrames,
        incompleteFrames: v.incompleteFrames,
        corruptFrames: v.corruptFrames,
        width: this.#lastKeyFrame?.width,
        height: this.#lastKeyFrame?.height,
        pliSent: this.#pliSent,
      },
    };
  }

  /** Resolves with ms from `join` to the first complete VP8 key frame; rejects after `timeoutMs`. */
  waitForKeyFrame(timeoutMs: number): Promise<number> {
    if (this.#firstKeyFrameAt !== undefined) return Promise.resolve(this.#firstKeyFrameAt - this.#t0);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('keyFrame', onKey);
        this.off('closed', onClosed);
      };
      const onKey = () => {
        done();
        resolve(this.#firstKeyFrameAt! - this.#t0);
      };
      const onClosed = (reason: string) => {
        done();
        reject(new Error(`viewer closed before a key frame: ${reason}`));
      };
      const timer = setTimeout(() => {
        done();
        const s = this.stats();
        const warning = this.warnings.length ? `; last warning: ${this.warnings.at(-1)}` : '';
        reject(new Error(`no VP8 key frame within ${timeoutMs} ms (pc ${s.connectionState}, ${s.video.consumers} video consumers, ${s.video.packets} video packets${warning})`));
      }, timeoutMs);
      this.on('keyFrame', onKey);
      this.on('closed', onClosed);
    });
  }

  /** Leaves the room, closes the socket and the peer connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#socket.connected && this.#participantId) {
      await this.#request('leave', {}, 2000).catch(() => undefined);
    }
    await this.#shutdown('closed');
  }

  async #shutdown(reason: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pliTimer);
    this.#socket.removeAllListeners();
    this.#socket.close();
    for (const fail of [...this.#pending]) fail(new Error(`viewer ${reason}`));
    await this.#pc?.close().catch(() => undefined);
    this.emit('closed', reason);
  }

  #request<N extends RequestName>(name: N, payload: RequestPayload<N>, timeoutMs = this.#options.requestTimeoutMs): Promise<ResponseMap[N]> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new Error(`${name}: viewer closed`));
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.#pending.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`${name}: no answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.add(fail);
      this.#options.log(`→ ${name}`);
      const emit = this.#socket.emit.bind(this.#socket) as unknown as (event: string, payload: unknown, ack: (ack: Ack<ResponseMap[N]>) => void) => void;
      emit(name, payload, (ack) => {
        clearTimeout(timer);
        this.#pending.delete(fail);
        this.#options.log(`← ${name} ${ack.ok ? 'ok' : ack.error.code}`);
        if (ack.ok) resolve(ack.data);
        else reject(ProtocolError.fromWire(ack.error));
      });
    });
  }
}
