// Builds the client SDK: an ESM package (npm dependencies left external) with type declarations,
// and a single self-contained script-tag bundle (global `TelemedSDK`) that the server serves.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sdk = path.join(root, 'client-sdk');
const entry = path.join(sdk, 'src', 'index.ts');
const outdir = path.join(sdk, 'dist');
rmSync(outdir, { recursive: true, force: true });

const common = { entryPoints: [entry], bundle: true, target: 'es2022', sourcemap: true, logLevel: 'warning', legalComments: 'linked' };
await build({ ...common, format: 'esm', platform: 'browser', packages: 'external', outfile: path.join(outdir, 'index.js') });
await build({ ...common, format: 'iife', platform: 'browser', globalName: 'TelemedSDK', minify: true, outfile: path.join(outdir, 'telemed-sdk.iife.js') });
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(sdk, 'tsconfig.json')], { stdio: 'inherit' });
console.log(`client SDK built in ${path.relative(root, outdir)}/`);
