/**
 * The server's half of the pre-call check: short-lived, send-only WebRtcTransports on which a
 * person who is not in any room yet sends a few seconds of media, so the page can tell before joining
 * whether UDP, TCP and the TURN relay reach this server, and how fast. Each test has a router of its
 * own on the least-loaded worker (the same single-port WebRtcServer real calls use, so the same
 * firewall rules are tested); closing that router closes everything the test made.
 *
 * Everything is bounded, whatever the client does: a test lives at most `testSeconds`, a socket holds
 * at most one test per path, the node at most `maxTests`, and one person (token `sub`) may open at
 * most `perIdentityPerMinute` per minute. A socket's tests end with it.
 */
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import {
  notFound,
  ProtocolError,
  type MediaKind,
  type PreflightAnswers,
  type PreflightMediaReport,
  type PreflightPath,
} from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { MEDIA_CODECS } from './codecs.js';
import { clientCall } from './mediasoupErrors.js';
import { turnCredentials, type TurnSettings } from './turnCredentials.js';
import type { WorkerPool } from './WorkerPool.js';

export interface PreflightLimits {
  /** Tests open at once on this node (PREFLIGHT_MAX_TESTS). */
  maxTests: number;
  /** Tests one identity may open per minute (PREFLIGHT_TESTS_PER_MINUTE). */
  perIdentityPerMinute: number;
  /** A test closes by itself after this long (PREFLIGHT_TEST_SECONDS). */
  testSeconds: number;
}

export interface PreflightLabDeps {
  pool: Pick<WorkerPool, 'createRouter'>;
  turn: TurnSettings | undefined;
  limits: PreflightLimits;
  /** The same caps as a real send transport: a test must not be a way around them. */
  initialOutgoingBitrate: number;
  maxIncomingBitrate: number;
  log: Logger;
  now?: () => number;
}

/** Who runs a test: one signaling socket (its Session: compared by identity of the object) and the person behind it. */
export interface PreflightOwner {
  readonly principal: { readonly sub: string };
}

interface Test {
  readonly id: string;
  readonly owner: PreflightOwner;
  readonly path: PreflightPath;
  readonly router: types.Router;
  readonly transport: types.WebRtcTransport;
  readonly producers: Map<MediaKind, types.Producer>;
  readonly timer: NodeJS.Timeout;
}

const MINUTE_MS = 60_000;

export class PreflightLab {
  readonly #deps: PreflightLabDeps;
  readonly #tests = new Map<string, Test>();
  /** Tests being opened (router/transport not yet made): they count against the node's bound too. */
  #opening = 0;
  /** When each identity opened its tests within the last minute. */
  readonly #recent = new Map<string, number[]>();
  #closed = false;

  constructor(deps: PreflightLabDeps) {
    this.#deps = deps;
  }

  /** Whether TURN is offered (tests on path `relay` are possible). */
  get relayOffered(): boolean {
    return this.#deps.turn !== undefined;
  }

  /** Tests open now (for tests and metrics). */
  get openTests(): number {
    return this.#tests.size;
  }

  async open(owner: PreflightOwner, path: PreflightPath): Promise<PreflightAnswers['open']> {
    if (this.#closed) throw new ProtocolError('UNAVAILABLE', 'the media server is shutting down');
    if (path === 'relay' && !this.#deps.turn) throw notFound('this server offers no TURN relay (TURN_URLS is not set)');
    this.#admit(owner, path);
    this.#opening++;
    try {
      const test = await this.#create(owner, path);
      const { transport } = test;
      return {
        testId: test.id,
        transport: {
          id: transport.id,
          iceServers: path === 'relay' ? turnCredentials(this.#deps.turn, owner.principal.sub) : [],
          iceParameters: transport.iceParameters,
          iceCandidates: transport.iceCandidates,
          dtlsParameters: transport.dtlsParameters,
        },
        seconds: this.#deps.limits.testSeconds,
      };
    } finally {
      this.#opening--;
    }
  }

  async connect(owner: PreflightOwner, testId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const { transport } = this.#test(owner, testId);
    await clientCall('connect the test transport', () => transport.connect({ dtlsParameters }));
  }

  async produce(owner: PreflightOwner, testId: string, kind: MediaKind, rtpParameters: types.RtpParameters): Promise<string> {
    const test = this.#test(owner, testId);
    if (test.producers.has(kind)) throw new ProtocolError('WRONG_STATE', `this test already carries ${kind}`);
    const producer = await clientCall('send on the test transport', () => test.transport.produce({ kind, rtpParameters }));
    if (!this.#tests.has(test.id)) {
      producer.close(); // the test ended while mediasoup was creating it
      throw notFound('this pre-call test has ended');
    }
    test.producers.set(kind, producer);
    return producer.id;
  }

  /** What arrived so far; the test is closed (a report is its end). */
  async report(owner: PreflightOwner, testId: string): Promise<PreflightMediaReport> {
    const test = this.#test(owner, testId);
    try {
      // The test may be ending meanwhile (its time ran out): mapped like the client's other calls.
      const [transportStats] = await clientCall('pre-call report', () => test.transport.getStats());
      const streams = (
        await Promise.all([...test.producers.values()].map((p) => clientCall('pre-call report', () => p.getStats())))
      ).flat();
      const rtts = streams.map((s) => s.roundTripTime ?? 0).filter((rtt) => rtt > 0);
      return {
        protocol: transportStats?.iceSelectedTuple?.protocol ?? null,
        bytes: sum(streams.map((s) => s.byteCount)),
        packets: sum(streams.map((s) => s.packetCount)),
        bitrate: sum(streams.map((s) => s.bitrate)),
        rttMs: rtts.length > 0 ? Math.round(Math.max(...rtts)) : null,
      };
    } finally {
      this.#end(test, 'reported');
    }
  }

  /** Ends every test of a socket (it disconnected). */
  release(owner: PreflightOwner): void {
    for (const test of [...this.#tests.values()]) if (test.owner === owner) this.#end(test, 'socket closed');
  }

  closeAll(): void {
    this.#closed = true;
    for (const test of [...this.#tests.values()]) this.#end(test, 'server closing');
  }

  /** The bounds, checked before anything is created; throws TOO_MANY_REQUESTS naming the one hit. */
  #admit(owner: PreflightOwner, path: PreflightPath): void {
    const { maxTests, perIdentityPerMinute } = this.#deps.limits;
    const mine = [...this.#tests.values()].filter((t) => t.owner === owner);
    if (mine.some((t) => t.path === path))
      throw new ProtocolError('TOO_MANY_REQUESTS', `a ${path} test is already running on this connection: report it first`);
    if (this.#tests.size + this.#opening >= maxTests)
      throw new ProtocolError('TOO_MANY_REQUESTS', 'too many pre-call checks are running on this server; retry in a few seconds');
    const now = this.#now();
    const recent = (this.#recent.get(owner.principal.sub) ?? []).filter((at) => now - at < MINUTE_MS);
    if (recent.length >= perIdentityPerMinute) {
      const waitS = Math.ceil((MINUTE_MS - (now - recent[0]!)) / 1000);
      throw new ProtocolError('TOO_MANY_REQUESTS', `too many pre-call checks; please wait ${waitS} s`);
    }
    recent.push(now);
    this.#recent.set(owner.principal.sub, recent);
    this.#forgetOld(now);
  }

  async #create(owner: PreflightOwner, path: PreflightPath): Promise<Test> {
    const { router, host } = await this.#deps.pool.createRouter(MEDIA_CODECS);
    try {
      const transport = await router.createWebRtcTransport({
        webRtcServer: host.webRtcServer,
        // The path under test only: a UDP test that fell back to TCP would prove nothing.
        enableUdp: path !== 'tcp',
        enableTcp: path !== 'udp',
        preferUdp: true,
        initialAvailableOutgoingBitrate: this.#deps.initialOutgoingBitrate,
      });
      await transport.setMaxIncomingBitrate(this.#deps.maxIncomingBitrate);
      if (this.#closed) throw new ProtocolError('UNAVAILABLE', 'the media server is shutting down');
      const id = randomUUID();
      const timer = setTimeout(() => this.#end(this.#tests.get(id), 'time limit'), this.#deps.limits.testSeconds * 1000);
      timer.unref();
      const test: Test = { id, owner, path, router, transport, producers: new Map(), timer };
      this.#tests.set(id, test);
      return test;
    } catch (error) {
      router.close();
      throw error;
    }
  }

  #test(owner: PreflightOwner, testId: string): Test {
    const test = this.#tests.get(testId);
    // Someone else's test is answered as if it did not exist: ids are not to be probed.
    if (!test || test.owner !== owner)
      throw notFound(`no such pre-call test (tests end after ${this.#deps.limits.testSeconds} s, and with their report)`);
    return test;
  }

  #end(test: Test | undefined, why: string): void {
    if (!test || !this.#tests.delete(test.id)) return;
    clearTimeout(test.timer);
    test.router.close();
    this.#deps.log.debug({ test: test.id, path: test.path, why }, 'pre-call test closed');
  }

  /** Identities with nothing in the last minute are forgotten, so the map does not grow forever. */
  #forgetOld(now: number): void {
    for (const [identity, times] of this.#recent) if (times.every((at) => now - at >= MINUTE_MS)) this.#recent.delete(identity);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
