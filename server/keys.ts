/** Resolves the keys that verify (and, in development, sign) access tokens. No key lives in the repo. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export interface TokenKeys {
  verifyKeys: (string | Buffer)[];
  /** Secret used by the development token endpoint; undefined when the server cannot sign. */
  devSigningSecret: string | undefined;
}

export function resolveKeys(config: Config, log: Logger): TokenKeys {
  const publicKeys = config.jwt.publicKeyFiles.map((file) => readFileSync(file));
  let secrets = config.jwt.secrets;
  if (config.mode === 'development' && secrets.length === 0 && publicKeys.length === 0) {
    // A fresh random secret per process: dev tokens work for the demo and die with the process.
    secrets = [randomBytes(32).toString('hex')];
    log.warn('development mode: access tokens are signed with an ephemeral random secret');
  }
  const hmac = config.jwt.algorithms.some((a) => a.startsWith('HS'));
  return {
    verifyKeys: [...secrets, ...publicKeys],
    devSigningSecret: config.mode === 'development' && hmac ? secrets[0] : undefined,
  };
}
