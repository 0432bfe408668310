/**
 * The architecture, enforced: which top-level folder may import which (one way only), no cycles
 * between folders, and the protocol's types layer and the browser SDK stay free of zod.
 *
 * Imports are read with the TypeScript parser (static import/export ... from, import x = require,
 * dynamic import(), import('...') types, require()), so comments and strings never count.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { Logger as PinoLogger } from 'pino';
import type { RecordingsLogger } from '../../recordings/logger.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Where each top-level folder may import from. Folders import themselves freely. */
const ALLOWED: Record<string, readonly string[] | 'anything'> = {
  signaling: [],
  recordings: ['signaling'],
  'client-sdk': ['signaling'],
  server: ['signaling', 'recordings'],
  bench: ['server', 'signaling', 'recordings', 'client-sdk'],
  test: 'anything',
};

/** The directories scanned (client-sdk only for its sources, not its build output). */
const SCANNED = ['server', 'signaling', 'recordings', 'client-sdk/src', 'bench', 'test'];

const TYPES_LAYER = 'signaling/protocol/types';
const SCHEMA_LAYER = 'signaling/protocol/schemas';

// The server's pino Logger must still be accepted wherever the recordings library wants a logger.
// (A compile-time check: tsc fails here if RecordingsLogger grows beyond what pino offers.)
type AcceptsPino = PinoLogger extends RecordingsLogger ? true : false;
const pinoIsARecordingsLogger: AcceptsPino = true;

interface ImportRef {
  /** Importing file, relative to the repository root with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  /** For a relative specifier: the target path relative to the repository root (not necessarily a file). */
  target: string | undefined;
}

function sourceFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(abs, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(ts|mts|mjs)$/.test(entry.name)) continue;
    const rel = path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (rel.split('/').some((seg) => seg === 'node_modules' || seg === 'dist')) continue;
    out.push(rel);
  }
  return out.sort();
}

function importsOf(file: string): ImportRef[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const kind = file.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const refs: ImportRef[] = [];
  const add = (lit: ts.Node | undefined): void => {
    if (!lit || !ts.isStringLiteralLike(lit)) return;
    const specifier = lit.text;
    const line = sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1;
    const target = specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : undefined;
    refs.push({ file, line, specifier, target });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isDynamicImport || isRequire) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

/** The top-level folder a repository-relative path lies in ('client-sdk' for client-sdk/src/...). */
function topFolder(relPath: string): string {
  return relPath.split('/')[0]!;
}

function isZod(specifier: string): boolean {
  return specifier === 'zod' || specifier.startsWith('zod/');
}

function isUnder(relPath: string | undefined, dir: string): boolean {
  return relPath !== undefined && (relPath === dir || relPath.startsWith(`${dir}/`));
}

/** A relative import's target as a source file we scanned, if it is one ('x.js' → 'x.ts', a folder → its index). */
function resolveFile(target: string, known: ReadonlySet<string>): string | undefined {
  const stem = target.replace(/\.(m?js|m?ts)$/, '');
  for (const candidate of [target, `${stem}.ts`, `${stem}.mts`, `${stem}.mjs`, `${target}/index.ts`, `${target}/index.mjs`]) {
    if (known.has(candidate)) return candidate;
  }
  return undefined;
}

/** Every cycle in a directed graph, each as a closed path [a, b, ..., a]; found by depth-first search. */
function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])])].sort();
  // Each cycle is reported once, from its smallest node: search from each start node s,
  // visiting only nodes that sort after s, and record paths that come back to s.
  for (const start of nodes) {
    const stack: string[] = [start];
    const onPath = new Set<string>([start]);
    const walk = (node: string): void => {
      for (const next of [...(graph.get(node) ?? [])].sort()) {
        if (next === start) {
          const cycle = [...stack, start];
          const key = cycle.join('→');
          if (!seen.has(key)) {
            seen.add(key);
            cycles.push(cycle);
          }
        } else if (next > start && !onPath.has(next)) {
          stack.push(next);
          onPath.add(next);
          walk(next);
          stack.pop();
          onPath.delete(next);
        }
      }
    };
    walk(start);
  }
  return cycles;
}

function describeRef(ref: ImportRef): string {
  return `${ref.file}:${ref.line} imports '${ref.specifier}'`;
}

// ---------------------------------------------------------------------------------------------

const files = SCANNED.flatMap(sourceFiles);
const known = new Set(files);
const imports = files.flatMap(importsOf);

/** Imports that cross from one top-level folder into another. */
const crossing = imports.filter((ref) => ref.target !== undefined && topFolder(ref.target) !== topFolder(ref.file));

function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const ref of crossing) {
    const from = topFolder(ref.file);
    const to = topFolder(ref.target!);
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  return graph;
}

describe('dependencies between top-level folders', () => {
  it('reads the imports of every source file (a sanity check on the scanner)', () => {
    expect(pinoIsARecordingsLogger).toBe(true);
    for (const dir of SCANNED) expect(files.filter((f) => isUnder(f, dir)).length, `no .ts files found under ${dir}/`).toBeGreaterThan(0);
    // Edges the composition root is known to have: if these vanish the parser has broken, not the code.
    const graph = folderGraph();
    expect([...(graph.get('server') ?? [])]).toEqual(expect.arrayContaining(['signaling', 'recordings']));
    expect([...(graph.get('client-sdk') ?? [])]).toContain('signaling');
  });

  it('only follows the allowed directions', () => {
    const violations: string[] = [];
    for (const ref of crossing) {
      const from = topFolder(ref.file);
      const to = topFolder(ref.target!);
      const allowed = ALLOWED[from];
      if (allowed === 'anything') continue;
      if (allowed === undefined) {
        violations.push(
          `${describeRef(ref)}: folder ${from}/ is not in the dependency table of this test; add it with the folders it may import`,
        );
      } else if (!allowed.includes(to)) {
        const may = allowed.length > 0 ? allowed.map((f) => `${f}/`).join(', ') : 'nothing of ours';
        violations.push(`${describeRef(ref)}: ${from}/ → ${to}/ is not allowed (${from}/ may import ${may})`);
      }
    }
    expect(violations, `Imports against the architecture's dependency direction:\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });

  it('has no cycle between top-level folders', () => {
    const graph = folderGraph();
    const cycles = findCycles(graph).map((cycle) => {
      const edges = cycle.slice(1).map((to, i) => {
        const from = cycle[i]!;
        const example = crossing.find((ref) => topFolder(ref.file) === from && topFolder(ref.target!) === to)!;
        return `    ${from}/ → ${to}/ e.g. ${describeRef(example)}`;
      });
      return `${cycle.join(' → ')}\n${edges.join('\n')}`;
    });
    expect(cycles, `Cycles between top-level folders:\n  ${cycles.join('\n  ')}\n`).toEqual([]);
  });

  it('finds cycles of any length, including through folders it has never heard of', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));
    expect(findCycles(g({ server: ['signaling', 'recordings'], recordings: ['signaling'], bench: ['server'] }))).toEqual([]);
    expect(findCycles(g({ server: ['recordings'], recordings: ['server'] }))).toEqual([['recordings', 'server', 'recordings']]);
    expect(findCycles(g({ a: ['plugins'], plugins: ['z'], z: ['a'], q: ['q'] }))).toEqual([
      ['a', 'plugins', 'z', 'a'],
      ['q', 'q'],
    ]);
    // Two cycles through the same folder are both reported.
    expect(findCycles(g({ a: ['b', 'c'], b: ['a'], c: ['a'] }))).toEqual([
      ['a', 'b', 'a'],
      ['a', 'c', 'a'],
    ]);
  });
});

describe('the protocol stays light where the browser needs it', () => {
  it(`${TYPES_LAYER}/ (when present) reaches neither zod nor ${SCHEMA_LAYER}/, directly or through other files`, () => {
    const typesFiles = files.filter((f) => isUnder(f, TYPES_LAYER));
    const violations: string[] = [];
    // Follow relative imports from the types layer transitively: a re-export through another file counts too.
    const via = new Map<string, string>(typesFiles.map((f) => [f, f]));
    const queue = [...typesFiles];
    while (queue.length > 0) {
      const file = queue.shift()!;
      const chain = via.get(file) === file ? '' : ` (reached from ${via.get(file)})`;
      for (const ref of imports.filter((r) => r.file === file)) {
        if (isZod(ref.specifier)) violations.push(`${describeRef(ref)}${chain}: the types layer must not depend on zod`);
        else if (isUnder(ref.target, SCHEMA_LAYER))
          violations.push(`${describeRef(ref)}${chain}: the types layer must not depend on the schema layer`);
        else if (ref.target !== undefined) {
          const next = resolveFile(ref.target, known);
          if (next !== undefined && !via.has(next)) {
            via.set(next, via.get(file)!);
            queue.push(next);
          }
        }
      }
    }
    expect(violations, `${TYPES_LAYER} is meant to be dependency-free:\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });

  it('client-sdk/src never imports zod or the protocol schema layer', () => {
    const violations = imports
      .filter((ref) => isUnder(ref.file, 'client-sdk/src'))
      .filter((ref) => isZod(ref.specifier) || isUnder(ref.target, SCHEMA_LAYER))
      .map((ref) => `${describeRef(ref)}: the browser SDK must not import ${isZod(ref.specifier) ? 'zod' : 'the schema layer'}`);
    expect(violations, `The browser SDK imports server-side validation:\n  ${violations.join('\n  ')}\n`).toEqual([]);
  });
});
