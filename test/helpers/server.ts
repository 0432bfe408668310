/**
 * Starts the real server in-process (real mediasoup workers) on free loopback ports, in development
 * mode unless `env` says otherwise (the server's own default is production).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.js';
import { createLogger, type Logger } from '../../server/logger.js';
import { MediaServer } from '../../server/MediaServer.js';
import { freeMediaPorts } from './ports.js';
import { TEST_AUDIENCE, TEST_SECRET } from './tokens.js';

/** `log`: a logger of the test's own (e.g. writing to a stream it reads), instead of stdout at TEST_LOG_LEVEL. */
export async function startTestServer(env: Record<string, string> = {}, log?: Logger): Promise<MediaServer> {
  const workers = Number(env['MEDIA_WORKERS'] ?? '1');
  // Each server keeps its recordings, audit trails and case records in a folder of its own.
  const dataDir = env['DATA_DIR'] ?? mkdtempSync(path.join(os.tmpdir(), 'telemed-test-'));
  const config = loadConfig({
    APP_MODE: 'development',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    MEDIA_LISTEN_IP: '127.0.0.1',
    MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
    MEDIA_PORT: String(await freeMediaPorts(workers)),
    MEDIA_WORKERS: String(workers),
    JWT_SECRETS: TEST_SECRET,
    JWT_AUDIENCE: TEST_AUDIENCE,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
    DATA_DIR: dataDir,
    // Recording must not depend on how full this machine's disk is; the storage tests set their floor.
    DATA_MIN_FREE_MB: '0',
    ...env,
  });
  return MediaServer.start(config, log ?? createLogger(config.logLevel));
}
