// Builds the client SDK: an ESM package (npm dependencies left external) with type declarations,
// and a single self-contained script-tag bundle (global `TelemedSDK`) that the server serves.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sdk = path.join(root, 'client-sdk');
const entry = path.join(sdk, 'src', 'index.ts');
const outdir = path.join(sdk, 'dist');
rmSync(outdir, { recursive: true, force: true });

const common = { entryPoints: [entry], bundle: true, target: 'es2022', sourcemap: true, logLevel: 'warning', legalComments: 'linked' };
await build({ ...common, format: 'esm', platform: 'browser', packages: 'external', outfile: path.join(outdir, 'index.js') });
await build({
  ...common,
  // The script-tag bundle also warms the device up once the page is idle (see bundle.ts).
  entryPoints: [path.join(sdk, 'src', 'bundle.ts')],
  format: 'iife',
  platform: 'browser',
  globalName: 'TelemedSDK',
  minify: true,
  outfile: path.join(outdir, 'telemed-sdk.iife.js'),
});
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(sdk, 'tsconfig.json')], {
  stdio: 'inherit',
});
// The package does not depend on zod: a declaration naming it would break (or `any`-out) consumers'
// types. The SDK imports the protocol's types layer only (signaling/protocol/types/), never the schemas.
const types = path.join(outdir, 'types');
const leaking = readdirSync(types, { recursive: true, encoding: 'utf8' }).filter(
  (f) => f.endsWith('.d.ts') && readFileSync(path.join(types, f), 'utf8').includes('zod'),
);
if (leaking.length)
  throw new Error(`SDK declarations reference zod (import signaling/protocol/types/, not the schemas): ${leaking.join(', ')}`);
console.log(`client SDK built in ${path.relative(root, outdir)}/`);
