import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../server/auth/TokenVerifier.js';
import { ProtocolError } from '../../signaling/protocol/index.js';
import { claims, TEST_AUDIENCE, TEST_SECRET, token } from '../helpers/tokens.js';

const verifier = new TokenVerifier({ algorithms: ['HS256'], keys: [TEST_SECRET], audience: TEST_AUDIENCE, maxTtlSeconds: 3600 });

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('UNAUTHENTICATED');
    return error as ProtocolError;
  }
  throw new Error('expected the token to be refused');
}

describe('TokenVerifier', () => {
  it('accepts a valid token and returns its claims', () => {
    const p = verifier.verify(token({ sub: 'dr-wang', name: 'Dr. Wang', role: 'lead_specialist', room: 'mdt-7' }));
    expect(p).toMatchObject({
      sub: 'dr-wang',
      name: 'Dr. Wang',
      role: 'lead_specialist',
      room: 'mdt-7',
      kind: 'consultation',
      caseId: 'CASE-1',
    });
    expect(p.site.level).toBe('tertiary_hospital');
  });

  it('refuses a missing or non-string token', () => {
    expect(refusal(() => verifier.verify(undefined)).message).toMatch(/required/);
    refusal(() => verifier.verify(42));
    refusal(() => verifier.verify('not.a.jwt'));
  });

  it('refuses an expired token', () => {
    const t = jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { audience: TEST_AUDIENCE });
    expect(refusal(() => verifier.verify(t)).message).toMatch(/expired/);
  });

  it('refuses a token without expiry', () => {
    const t = jwt.sign(claims(), TEST_SECRET, { audience: TEST_AUDIENCE });
    expect(refusal(() => verifier.verify(t)).message).toMatch(/expiry/);
  });

  it('refuses a token living longer than allowed, with or without iat', () => {
    expect(refusal(() => verifier.verify(token({}, { expiresIn: 30 * 24 * 3600 }))).message).toMatch(/lifetime/);
    const noIat = jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) + 30 * 24 * 3600 }, TEST_SECRET, {
      audience: TEST_AUDIENCE,
      noTimestamp: true,
    });
    expect(refusal(() => verifier.verify(noIat)).message).toMatch(/lifetime/);
  });

  it('refuses a year-long token whatever its iat says: in the future, or in milliseconds', () => {
    const now = Math.floor(Date.now() / 1000);
    const year = 365 * 24 * 3600;
    const signed = (times: { iat?: number; exp: number }) =>
      jwt.sign({ ...claims(), ...times }, TEST_SECRET, { audience: TEST_AUDIENCE, noTimestamp: !('iat' in times) });
    // iat placed so that exp − iat is within the cap: only exp − now gives it away.
    expect(refusal(() => verifier.verify(signed({ iat: now + year - 3000, exp: now + year }))).message).toMatch(/lifetime exceeds 3600 s/);
    // iat in milliseconds makes exp − iat negative.
    expect(refusal(() => verifier.verify(signed({ iat: Date.now(), exp: now + year }))).message).toMatch(/lifetime exceeds 3600 s/);
    // The same tricks within the cap are still refused, for the iat itself.
    expect(refusal(() => verifier.verify(signed({ iat: Date.now(), exp: now + 600 }))).message).toMatch(/iat.*future.*milliseconds/);
    expect(refusal(() => verifier.verify(signed({ iat: now + 3000, exp: now + 3500 }))).message).toMatch(
      /iat\) is (2999|3000) s in the future/,
    ); // a second may tick between the two clocks
    // jsonwebtoken will not sign a string iat; a hand-made HS256 token will.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims(), aud: TEST_AUDIENCE, iat: 'yesterday', exp: now + 600 })}`;
    const stringIat = `${unsigned}.${createHmac('sha256', TEST_SECRET).update(unsigned).digest('base64url')}`;
    expect(refusal(() => verifier.verify(stringIat)).message).toMatch(/iat.*number of seconds/);
  });

  it('accepts a token at the cap, and an issuer clock up to 60 s ahead', () => {
    const now = Math.floor(Date.now() / 1000);
    const atCap = jwt.sign({ ...claims({ sub: 'zhao-lei' }), iat: now, exp: now + 3600 }, TEST_SECRET, { audience: TEST_AUDIENCE });
    expect(verifier.verify(atCap).sub).toBe('zhao-lei');
    const ahead = jwt.sign({ ...claims({ sub: 'ma-li' }), iat: now + 50, exp: now + 50 + 3600 }, TEST_SECRET, { audience: TEST_AUDIENCE });
    expect(verifier.verify(ahead).sub).toBe('ma-li');
    const tooFarAhead = jwt.sign({ ...claims(), iat: now + 90, exp: now + 600 }, TEST_SECRET, { audience: TEST_AUDIENCE });
    refusal(() => verifier.verify(tooFarAhead));
  });

  it('refuses a recordings token the same way', () => {
    const now = Math.floor(Date.now() / 1000);
    const t = jwt.sign(
      { sub: 'wang-fang', scope: 'recordings:read', caseId: 'CASE-1', iat: now + 364 * 24 * 3600, exp: now + 365 * 24 * 3600 },
      TEST_SECRET,
      {
        audience: TEST_AUDIENCE,
      },
    );
    expect(refusal(() => verifier.verifyRecordingAccess(t)).message).toMatch(/lifetime/);
  });

  it('refuses the wrong audience without telling which audience it expects', () => {
    const message = refusal(() => verifier.verify(token({}, { audience: 'another-service' }))).message;
    expect(message).toMatch(/audience/);
    expect(message).not.toContain(TEST_AUDIENCE);
  });

  it('refuses the wrong issuer without telling which issuer it expects', () => {
    const strict = new TokenVerifier({
      algorithms: ['HS256'],
      keys: [TEST_SECRET],
      audience: TEST_AUDIENCE,
      issuer: 'his.provincial-cancer-hospital.cn',
      maxTtlSeconds: 3600,
    });
    const message = refusal(() => strict.verify(token({}, { issuer: 'his.elsewhere.cn' }))).message;
    expect(message).toMatch(/issuer/);
    expect(message).not.toContain('provincial-cancer-hospital');
  });

  it('refuses a wrong signature', () => {
    expect(refusal(() => verifier.verify(token({}, {}, 'x'.repeat(64)))).message).toMatch(/signature/);
  });

  it('refuses alg none', () => {
    const unsigned = jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) + 60, aud: TEST_AUDIENCE }, '', { algorithm: 'none' });
    refusal(() => verifier.verify(unsigned));
    // Hand-made too, in case a library ever stops producing them.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    refusal(() => verifier.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), aud: TEST_AUDIENCE, exp: 9e9 })}.`));
  });

  it('pins the algorithm: an RS256 token is refused by an HS256 verifier', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const t = jwt.sign(claims(), privateKey, { algorithm: 'RS256', audience: TEST_AUDIENCE, expiresIn: 60 });
    expect(refusal(() => verifier.verify(t)).message).toMatch(/algorithm/);
  });

  it('verifies RS256 with a public key, and accepts rotated keys', () => {
    const old = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const current = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (k: typeof old) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = new TokenVerifier({ algorithms: ['RS256'], keys: [pem(current), pem(old)], audience: TEST_AUDIENCE, maxTtlSeconds: 3600 });
    for (const pair of [current, old]) {
      const t = jwt.sign(claims({ sub: 'rotated' }), pair.privateKey, { algorithm: 'RS256', audience: TEST_AUDIENCE, expiresIn: 60 });
      expect(rs.verify(t).sub).toBe('rotated');
    }
  });

  it('accepts HS and RS tokens when both secrets and public keys are configured', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const mixed = new TokenVerifier({
      algorithms: ['HS256', 'ES256'],
      keys: [TEST_SECRET, pem],
      audience: TEST_AUDIENCE,
      maxTtlSeconds: 3600,
    });
    expect(mixed.verify(token({ sub: 'hs' })).sub).toBe('hs');
    const es = jwt.sign(claims({ sub: 'es' }), pair.privateKey, { algorithm: 'ES256', audience: TEST_AUDIENCE, expiresIn: 60 });
    expect(mixed.verify(es).sub).toBe('es');
  });

  it.each([
    ['sub', 'sub'],
    ['name', 'name'],
    ['role', 'role'],
    ['site', 'site'],
    ['room', 'room'],
    ['kind', 'kind'],
  ])('refuses a token missing %s', (field, detail) => {
    const c = claims();
    delete c[field];
    const t = jwt.sign(c, TEST_SECRET, { audience: TEST_AUDIENCE, expiresIn: 60 });
    const error = refusal(() => verifier.verify(t));
    expect(error.details).toHaveProperty([detail]);
  });

  it('refuses invalid claim values', () => {
    refusal(() => verifier.verify(token({ role: 'surgeon' as never })));
    refusal(() => verifier.verify(token({ room: '../../etc' })));
    refusal(() => verifier.verify(token({ site: { id: 's', name: 'x', level: 'space_station' as never } })));
  });

  it('requires a case id for consultation and follow-up rooms', () => {
    const error = refusal(() => verifier.verify(token({ caseId: undefined })));
    expect(error.details).toHaveProperty(['caseId']);
    expect(verifier.verify(token({ kind: 'broadcast', role: 'viewer', caseId: undefined })).kind).toBe('broadcast');
  });
});
