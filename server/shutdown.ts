/**
 * Graceful shutdown at SIGTERM / SIGINT: the server finishes its rooms, and with them every recording
 * (files ended, hashed, archived and queued for the hospital's systems), which for a long recording
 * takes a while. The process waits for that up to SHUTDOWN_GRACE_SECONDS, telling the operator every
 * few seconds what is still being finished; past the bound it exits anyway, saying what it left (the
 * next start's recovery finishes those recordings from their journals).
 */

/** What is still being finished: rooms whose case record is not handed over, recordings being hashed or archived. */
export interface ShutdownProgress {
  rooms: number;
  recordings: number;
}

export interface ShutdownTarget {
  close(): Promise<void>;
  finishing(): ShutdownProgress;
}

/** The part of a logger the shutdown uses (pino's signature). */
export interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ShutdownOptions {
  graceMs: number;
  /** How often progress is logged while waiting (default 5 s). */
  progressEveryMs?: number;
  log: ShutdownLog;
  /** process.exit in production; the code is 0 once everything is finished, 1 otherwise. */
  exit: (code: number) => void;
}

/** Closes `server`, logging progress, and calls `exit` once it is closed or the grace has run out. */
export function shutDown(server: ShutdownTarget, options: ShutdownOptions): void {
  const { graceMs, log, exit } = options;
  const started = Date.now();
  const seconds = (ms: number): number => Math.round(ms / 100) / 10;
  log.info({ graceSeconds: seconds(graceMs) }, `shutting down: finishing rooms and recordings (at most ${seconds(graceMs)} s)`);
  let done = false;
  const finish = (code: number): void => {
    if (done) return;
    done = true;
    clearInterval(progress);
    clearTimeout(force);
    exit(code);
  };
  const progress = setInterval(() => {
    const left = server.finishing();
    log.info(
      { ...left, elapsedSeconds: seconds(Date.now() - started) },
      `finishing ${left.recordings} recording(s) and ${left.rooms} room record(s): hashing and archiving…`,
    );
  }, options.progressEveryMs ?? 5000);
  const force = setTimeout(() => {
    const left = server.finishing();
    log.error(
      { ...left, graceSeconds: seconds(graceMs) },
      `shutdown grace of ${seconds(graceMs)} s ran out with ${left.recordings} recording(s) and ${left.rooms} room record(s) ` +
        'unfinished; exiting (the next start recovers them)',
    );
    finish(1);
  }, graceMs);
  // Neither timer may keep an otherwise finished process alive.
  progress.unref();
  force.unref();
  server.close().then(
    () => {
      log.info({ seconds: seconds(Date.now() - started) }, 'shutdown complete');
      finish(0);
    },
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      finish(1);
    },
  );
}
