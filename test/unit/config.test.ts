import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('has safe single-machine defaults', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('development');
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.media.listenIp).toBe('127.0.0.1');
    expect(c.jwt.algorithms).toEqual(['HS256']);
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
    expect(loadConfig({ APP_MODE: 'production', JWT_SECRETS: 'k'.repeat(40) }).mode).toBe('production');
  });

  it('needs an announced address when media listens on all interfaces', () => {
    expect(() => loadConfig({ MEDIA_LISTEN_IP: '0.0.0.0' })).toThrow(/MEDIA_ANNOUNCED_ADDRESS/);
    expect(loadConfig({ MEDIA_LISTEN_IP: '0.0.0.0', MEDIA_ANNOUNCED_ADDRESS: '203.0.113.7' }).media.announcedAddress).toBe('203.0.113.7');
  });

  it('keeps development mode (and its token minting) on loopback', () => {
    expect(() => loadConfig({ HTTP_HOST: '0.0.0.0' })).toThrow(/production/);
    expect(loadConfig({ HTTP_HOST: '0.0.0.0', APP_MODE: 'production', JWT_SECRETS: 'k'.repeat(40) }).http.host).toBe('0.0.0.0');
  });

  it('names the offending variable', () => {
    expect(() => loadConfig({ HTTP_PORT: 'eighty' })).toThrow(/HTTP_PORT/);
  });
});
