/** Starts the real server in-process (real mediasoup workers) on free loopback ports. */
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { MediaServer } from '../../server/MediaServer.js';
import { freeMediaPorts } from './ports.js';
import { TEST_AUDIENCE, TEST_SECRET } from './tokens.js';

export async function startTestServer(env: Record<string, string> = {}): Promise<MediaServer> {
  const workers = Number(env['MEDIA_WORKERS'] ?? '1');
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
    ...env,
  });
  return MediaServer.start(config, createLogger(config.logLevel));
}
