/**
 * `npm start` entry: read the environment, start, and stop cleanly on SIGTERM / SIGINT, waiting up to
 * SHUTDOWN_GRACE_SECONDS for recordings to be finished and hashed.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { MediaServer } from './MediaServer.js';
import { shutDown } from './shutdown.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const server = await MediaServer.start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      if (signal === 'SIGINT') process.exit(1); // asked twice: stop now (recovery finishes at next start)
      return;
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    const finish = () => shutDown(server, { graceMs: config.shutdownGraceSeconds * 1000, log, exit: (code) => process.exit(code) });
    // Clustered, SIGTERM drains first: new rooms go to other nodes, rooms here run until they empty or
    // DRAIN_DEADLINE_SECONDS, then move. A SIGINT meanwhile stops at once.
    if (config.cluster && signal === 'SIGTERM') {
      server.drain(config.cluster.drainDeadlineSeconds * 1000).then(finish, (err: unknown) => {
        log.error({ err }, 'drain failed; shutting down');
        finish();
      });
    } else finish();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
