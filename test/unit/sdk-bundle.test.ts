/**
 * The script-tag bundle clinics load: small, and free of the server-side validator (zod), which
 * would triple it. Built in memory with the same esbuild settings as scripts/build-sdk.mjs.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('client SDK bundle', () => {
  it('stays small and leaves the protocol validators on the server', async () => {
    const result = await build({
      entryPoints: ['client-sdk/src/bundle.ts'],
      bundle: true,
      minify: true,
      format: 'iife',
      globalName: 'TelemedSDK',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // Modules esbuild looked at but dropped have 0 bytes in the output; only the kept ones count.
    const kept = Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)
      .filter(([, i]) => i.bytesInOutput > 0)
      .map(([file]) => file);
    expect(kept.filter((f) => f.includes('node_modules/zod/'))).toEqual([]);
    const bytes = result.outputFiles[0]!.contents.byteLength;
    expect(bytes).toBeLessThan(400 * 1024);
  });
});
