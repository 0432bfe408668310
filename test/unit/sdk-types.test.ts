/**
 * The SDK's published declarations stand on their own: built exactly as scripts/build-sdk.mjs builds
 * them, laid out as an installed package next to its real dependencies (mediasoup-client,
 * socket.io-client) and without zod, a consumer project type-checks with skipLibCheck false (no
 * unresolved import) and true (no type silently turned `any`: the fixture's @ts-expect-error lines
 * would then be unused and fail).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const fixture = path.join(root, 'test', 'fixtures', 'sdk-consumer');
const TIMEOUT_MS = 60_000;

/** Runs the repo's tsc; resolves with its exit code and output (tsc reports errors on stdout). */
function runTsc(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, ...args], { cwd, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}${error?.killed ? '\n(tsc timed out)' : ''}` });
    });
  });
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

describe('client SDK type declarations', () => {
  let work: string;
  let sdk: string;
  let types: string;
  let build: { code: number; output: string };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sdk-consumer-'));
    cpSync(fixture, work, { recursive: true });
    const modules = path.join(work, 'node_modules');
    sdk = path.join(modules, '@telemed', 'client-sdk');
    mkdirSync(sdk, { recursive: true });
    cpSync(path.join(root, 'client-sdk', 'package.json'), path.join(sdk, 'package.json'));
    cpSync(path.join(root, 'client-sdk', 'global.d.ts'), path.join(sdk, 'global.d.ts'));
    for (const dep of ['mediasoup-client', 'socket.io-client'])
      symlinkSync(path.join(root, 'node_modules', dep), path.join(modules, dep), 'dir');
    types = path.join(sdk, 'dist', 'types');
    build = await runTsc(['-p', path.join(root, 'client-sdk', 'tsconfig.json'), '--outDir', types], root);
  }, TIMEOUT_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds, and no emitted declaration mentions zod or the schema layer', () => {
    expect(build.output).toBe('');
    expect(build.code).toBe(0);
    const files = declarationFiles(types);
    expect(files.map((f) => path.relative(types, f))).toContain(path.join('client-sdk', 'src', 'index.d.ts'));
    expect(files.filter((f) => readFileSync(f, 'utf8').includes('zod')).map((f) => path.relative(types, f))).toEqual([]);
    const protocol = files.map((f) => path.relative(types, f)).filter((f) => f.startsWith(path.join('signaling', 'protocol')));
    expect(protocol.length).toBeGreaterThan(0);
    expect(protocol.filter((f) => !f.startsWith(path.join('signaling', 'protocol', 'types') + path.sep))).toEqual([]);
  });

  it('SDK_VERSION is the package version', async () => {
    const { SDK_VERSION } = await import('../../client-sdk/src/version.js');
    const pkg = JSON.parse(readFileSync(path.join(root, 'client-sdk', 'package.json'), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });

  it(
    'type-checks a consumer project with skipLibCheck false and true, any-free',
    async () => {
      expect(build.code).toBe(0);
      const [strict, lenient] = await Promise.all(
        ['false', 'true'].map((skip) => runTsc(['-p', path.join(work, 'tsconfig.json'), '--skipLibCheck', skip], work)),
      );
      expect(strict!.output).toBe('');
      expect(strict!.code).toBe(0);
      expect(lenient!.output).toBe('');
      expect(lenient!.code).toBe(0);
    },
    TIMEOUT_MS,
  );
});
