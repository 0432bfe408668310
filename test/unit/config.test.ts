import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

const SECRET = 'k'.repeat(40);
const DEV = { APP_MODE: 'development' } as const;
/** The least a production start needs: token keys, the audit-trail seal key and the hospital's page origins. */
const PROD = { JWT_SECRETS: SECRET, AUDIT_SEAL_KEY: SECRET, CORS_ORIGINS: 'https://consult.slzl-hospital.example' } as const;

describe('loadConfig', () => {
  it('HTTPS: both TLS files or neither; each read and checked at start, with the variable at fault named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'telemed-tls-unit-'));
    const f = (name: string) => path.join(dir, name);
    const selfSigned = (name: string) =>
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-subj', '/CN=consult.hospital.test',
      ], { stdio: 'ignore' }); // prettier-ignore
    selfSigned('a');
    selfSigned('b');
    writeFileSync(f('junk.crt'), 'not a certificate');
    const tls = (cert: string, key: string) => loadConfig({ ...DEV, TLS_CERT_FILE: f(cert), TLS_KEY_FILE: f(key) }).http.tls;
    expect(tls('a.crt', 'a.key')?.subject).toContain('consult.hospital.test');
    expect(loadConfig(DEV).http.tls).toBeUndefined();
    expect(() => loadConfig({ ...DEV, TLS_CERT_FILE: f('a.crt') })).toThrow(/TLS_CERT_FILE and TLS_KEY_FILE go together/);
    expect(() => tls('a.crt', 'b.key')).toThrow(/^TLS_KEY_FILE: .*b\.key does not belong to the certificate/);
    expect(() => tls('junk.crt', 'a.key')).toThrow(/^TLS_CERT_FILE: .*junk\.crt is not a PEM certificate/);
    expect(() => tls('missing.crt', 'a.key')).toThrow(/^TLS_CERT_FILE: cannot read .*missing\.crt \(ENOENT\)/);
    expect(() => tls('a.crt', 'junk.crt')).toThrow(ConfigError);
  });

  it('has safe single-machine defaults', () => {
    const c = loadConfig(PROD);
    expect(c.mode).toBe('production');
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.media.listenIp).toBe('127.0.0.1');
    expect(c.jwt.algorithms).toEqual(['HS256']);
  });

  it('starts in production unless development is asked for: nothing configured is refused, not turned into dev tokens', () => {
    expect(() => loadConfig({})).toThrow(/production mode \(the default; APP_MODE=development/);
    expect(loadConfig(DEV).mode).toBe('development');
  });

  it('refuses http:// sinks and public URLs in production, naming the variable; development and loopback may use http', () => {
    for (const variable of ['WEBHOOK_URL', 'FHIR_BASE_URL', 'PUBLIC_URL']) {
      const plain = { ...PROD, [variable]: 'http://records.slzl-hospital.example/fhir' };
      expect(() => loadConfig(plain)).toThrow(ConfigError);
      expect(() => loadConfig(plain)).toThrow(new RegExp(`^${variable}: .*https://.*got http://records.slzl-hospital.example`));
      expect(() => loadConfig({ ...PROD, [variable]: 'ftp://records.slzl-hospital.example/' })).toThrow(variable);
      expect(() => loadConfig({ ...PROD, [variable]: 'https://records.slzl-hospital.example/fhir' })).not.toThrow();
      // A sidecar on this machine: the traffic never leaves it.
      for (const local of ['http://127.0.0.1:8443/r', 'http://localhost:8443/r', 'http://[::1]:8443/r'])
        expect(() => loadConfig({ ...PROD, [variable]: local })).not.toThrow();
      expect(() => loadConfig({ ...DEV, [variable]: 'http://records.slzl-hospital.example/fhir' })).not.toThrow();
    }
    const sinks = { ...PROD, CASE_RECORD_SINKS: 'webhook', WEBHOOK_SECRET: SECRET };
    expect(() => loadConfig({ ...sinks, WEBHOOK_URL: 'http://10.0.0.8/hook' })).toThrow(/^WEBHOOK_URL/);
    expect(loadConfig({ ...sinks, WEBHOOK_URL: 'https://10.0.0.8/hook' }).records.webhook?.url).toBe('https://10.0.0.8/hook');
  });

  it('requires explicit CORS origins in production; development keeps `*`', () => {
    expect(() => loadConfig({ ...PROD, CORS_ORIGINS: undefined })).toThrow(/^CORS_ORIGINS: production needs/);
    expect(() => loadConfig({ ...PROD, CORS_ORIGINS: ' ' })).toThrow(/^CORS_ORIGINS: production needs/);
    expect(() => loadConfig({ ...PROD, CORS_ORIGINS: '*' })).toThrow(/^CORS_ORIGINS/);
    expect(() => loadConfig({ ...PROD, CORS_ORIGINS: 'https://a.example,*' })).toThrow(/^CORS_ORIGINS/);
    expect(loadConfig({ ...PROD, CORS_ORIGINS: 'https://slzl.example, https://apx.example:8443' }).http.corsOrigins).toEqual([
      'https://slzl.example',
      'https://apx.example:8443',
    ]);
    // A path or trailing slash never matches a browser's Origin header: said at start, not found by users.
    expect(() => loadConfig({ ...PROD, CORS_ORIGINS: 'https://slzl.example/' })).toThrow(/not an origin/);
    expect(loadConfig(DEV).http.corsOrigins).toBe('*');
  });

  it('refuses alg none and unknown algorithms', () => {
    expect(() => loadConfig({ JWT_ALGORITHMS: 'none' })).toThrow(ConfigError);
    expect(() => loadConfig({ JWT_ALGORITHMS: 'HS256,none' })).toThrow(/none/);
  });

  it('refuses short secrets', () => {
    expect(() => loadConfig({ JWT_SECRETS: 'short' })).toThrow(/32 characters/);
  });

  it('needs keys in production', () => {
    expect(() => loadConfig({ APP_MODE: 'production' })).toThrow(/JWT_SECRETS/);
    expect(loadConfig({ ...PROD, APP_MODE: 'production' }).mode).toBe('production');
  });

  it('needs an announced address when media listens on all interfaces', () => {
    expect(() => loadConfig({ ...PROD, MEDIA_LISTEN_IP: '0.0.0.0' })).toThrow(/MEDIA_ANNOUNCED_ADDRESS/);
    expect(loadConfig({ ...PROD, MEDIA_LISTEN_IP: '0.0.0.0', MEDIA_ANNOUNCED_ADDRESS: '203.0.113.7' }).media.announcedAddress).toBe(
      '203.0.113.7',
    );
  });

  it('keeps development mode (and its token minting) on loopback', () => {
    expect(() => loadConfig({ ...DEV, HTTP_HOST: '0.0.0.0' })).toThrow(/production/);
    expect(loadConfig({ ...PROD, HTTP_HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
  });

  it('derives the viewer seats of a node from its cores and router capacity unless set', () => {
    const derived = loadConfig({ ...PROD, MEDIA_WORKERS: '4', BROADCAST_CONSUMERS_PER_ROUTER: '300' });
    expect(derived.broadcast.viewersPerNode).toBe(600);
    expect(loadConfig({ ...PROD, BROADCAST_VIEWERS_PER_NODE: '25' }).broadcast.viewersPerNode).toBe(25);
    expect(() => loadConfig({ ...PROD, BROADCAST_VIEWERS_PER_NODE: '-1' })).toThrow(/BROADCAST_VIEWERS_PER_NODE/);
  });

  it('names the offending variable', () => {
    expect(() => loadConfig({ HTTP_PORT: 'eighty' })).toThrow(/HTTP_PORT/);
  });

  it('reaches the cluster Redis at one URL or through Sentinel, never both, and needs both Sentinel variables', () => {
    expect(loadConfig(PROD).cluster).toBeUndefined();
    expect(loadConfig({ ...PROD, REDIS_URL: 'redis://10.0.0.7:6379' }).cluster?.redis).toEqual({ url: 'redis://10.0.0.7:6379' });
    const sentinel = {
      ...PROD,
      REDIS_SENTINELS: '10.0.0.7:26379, sentinel-2.slzl-hospital.example:26379,[fd00::9]:26380',
      REDIS_SENTINEL_NAME: 'telemed',
      REDIS_PASSWORD: 'redis-pass',
    };
    expect(loadConfig(sentinel).cluster?.redis).toEqual({
      sentinels: [
        { host: '10.0.0.7', port: 26379 },
        { host: 'sentinel-2.slzl-hospital.example', port: 26379 },
        { host: 'fd00::9', port: 26380 },
      ],
      name: 'telemed',
      password: 'redis-pass',
    });
    expect(() => loadConfig({ ...PROD, REDIS_SENTINELS: '10.0.0.7:26379' })).toThrow(/REDIS_SENTINEL_NAME .*required/);
    expect(() => loadConfig({ ...PROD, REDIS_SENTINEL_NAME: 'telemed' })).toThrow(/REDIS_SENTINELS .*required/);
    expect(() => loadConfig({ ...sentinel, REDIS_URL: 'redis://10.0.0.7:6379' })).toThrow(/set one of them/);
    expect(() => loadConfig({ ...sentinel, REDIS_SENTINELS: '10.0.0.7' })).toThrow(/REDIS_SENTINELS: "10.0.0.7" is not host:port/);
    expect(() => loadConfig({ ...sentinel, REDIS_SENTINELS: '10.0.0.7:99999' })).toThrow(/is not host:port/);
    expect(() => loadConfig({ ...PROD, REDIS_PASSWORD: 'redis-pass' })).toThrow(/no Redis is/);
    // Every node must accept every token: development's ephemeral secret cannot be shared.
    expect(() => loadConfig({ ...DEV, REDIS_SENTINELS: '10.0.0.7:26379', REDIS_SENTINEL_NAME: 'telemed' })).toThrow(
      /REDIS_SENTINELS \(a cluster\) needs JWT_SECRETS/,
    );
  });
});
