/**
 * client-sdk/API.md, generated from the SDK's sources with the TypeScript checker: every export of
 * client-sdk/src/index.ts — the classes' public methods, properties and events (with their payload
 * types), the functions and constants, the error codes, the types — with the first paragraph of each
 * one's doc comment. test/unit/sdk-api.test.ts fails when the file and the sources differ, so the
 * reference cannot drift: after changing the SDK's surface run `npm run --silent sdk:api`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'client-sdk/src/index.ts');
const ERRORS = path.join(ROOT, 'signaling/protocol/types/errors.ts');
export const API_FILE = path.join(ROOT, 'client-sdk/API.md');

/** The classes reached from a client, with the property that holds them and their events interface. */
const CLASSES = [
  { name: 'ConsultationClient', holder: 'client', events: 'ClientEvents' },
  { name: 'Audience', holder: 'client.audience', events: 'AudienceEvents' },
  { name: 'Moderation', holder: 'client.moderation', events: null },
  { name: 'Recording', holder: 'client.recording', events: 'RecordingEvents' },
] as const;

const FORMAT =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

interface Member {
  name: string;
  signature: string;
  doc: string;
}

export function renderApiReference(): string {
  const program = ts.createProgram([ENTRY], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext });
  const checker = program.getTypeChecker();
  const exported = new Map<string, ts.Symbol>();
  for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!)) {
    exported.set(symbol.name, symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  }
  const doc = (symbol: ts.Symbol) => firstParagraph(ts.displayPartsToString(symbol.getDocumentationComment(checker)));
  const lines: string[] = [
    '# @telemed/client-sdk — API reference',
    '',
    'Generated from `client-sdk/src` by `npm run --silent sdk:api`; `test/unit/sdk-api.test.ts` fails when this',
    'file and the exported surface differ. Events are subscribed with `on(name, listener)` (returns an',
    'unsubscribe function), `once` and `off`; the payload is the listener’s arguments.',
  ];
  const documented = new Set<string>();

  for (const { name, holder, events } of CLASSES) {
    const symbol = exported.get(name);
    if (!symbol) throw new Error(`${name} is no longer exported from client-sdk/src/index.ts`);
    documented.add(name);
    lines.push('', `## ${name} (\`${holder}\`)`);
    if (doc(symbol)) lines.push('', doc(symbol));
    const statics = publicMembers(checker, checker.getTypeOfSymbol(symbol)).filter((m) => m.name !== 'prototype');
    section(lines, 'Static methods', statics, (m) => `${name}.${m.name}`);
    const instance = publicMembers(checker, checker.getDeclaredTypeOfSymbol(symbol));
    const isMethod = (m: Member) => m.signature.startsWith('(') || m.signature.startsWith('<');
    section(
      lines,
      'Properties',
      instance.filter((m) => !isMethod(m)),
      (m) => m.name,
    );
    section(lines, 'Methods', instance.filter(isMethod), (m) => m.name);
    if (events) {
      documented.add(events);
      const eventsType = checker.getDeclaredTypeOfSymbol(exported.get(events)!);
      const list = checker.getPropertiesOfType(eventsType).map((e) => ({
        name: e.name,
        signature: `(${written(e.valueDeclaration, () => checker.typeToString(checker.getTypeOfSymbol(e), undefined, FORMAT)).slice(1, -1)})`,
        doc: doc(e),
      }));
      section(lines, `Events (\`${events}\`)`, list, (m) => m.name);
    }
  }

  const values: Member[] = [];
  const types: string[] = [];
  for (const [name, symbol] of [...exported].sort(([a], [b]) => a.localeCompare(b))) {
    if (documented.has(name) || name === 'ProtocolError') continue;
    if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      const type = checker.getTypeOfSymbol(symbol);
      const call = type.getCallSignatures()[0];
      const signature = call ? checker.signatureToString(call, undefined, FORMAT) : `: ${checker.typeToString(type, undefined, FORMAT)}`;
      values.push({ name, signature, doc: doc(symbol) });
    } else types.push(name);
  }
  section(lines, 'Functions and constants', values, (m) => m.name, '##');

  const error = exported.get('ProtocolError')!;
  lines.push(
    '',
    '## Errors',
    '',
    doc(error) || 'Every refusal by the server (and some by the SDK) is a `ProtocolError` with one of these codes.',
  );
  const errorMembers = publicMembers(checker, checker.getDeclaredTypeOfSymbol(error)).filter((m) =>
    ['code', 'details', 'status'].includes(m.name),
  );
  section(lines, 'ProtocolError', errorMembers, (m) => m.name);
  lines.push('', '### Error codes (`ErrorCode`)', '', '| Code | HTTP status | Meaning |', '| --- | --- | --- |');
  for (const code of errorCodes(program, checker)) lines.push(`| \`${code.name}\` | ${code.status} | ${code.doc || '—'} |`);

  lines.push('', '## Types', '', types.map((t) => `\`${t}\``).join(', '), '');
  return lines.join('\n');
}

/** Public members of a class type or instance type (no `#private`, private or protected ones). */
function publicMembers(checker: ts.TypeChecker, type: ts.Type): Member[] {
  const members: Member[] = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!decl || prop.name.startsWith('__#') || prop.name.startsWith('#')) continue;
    if (ts.getCombinedModifierFlags(decl as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    const propType = checker.getTypeOfSymbolAtLocation(prop, decl);
    const isMethod = prop.flags & ts.SymbolFlags.Method;
    const signatures = isMethod ? propType.getCallSignatures() : [];
    const signature = signatures.length
      ? signatures
          .map((s) => (inherited(decl, type) ? checker.signatureToString(s, undefined, FORMAT) : signatureText(checker, s)))
          .join(' · ')
      : `: ${written(decl, () => checker.typeToString(propType, undefined, FORMAT))}${isReadonly(prop, decl) ? ' (read-only)' : ''}`;
    members.push({ name: prop.name, signature, doc: firstParagraph(ts.displayPartsToString(prop.getDocumentationComment(checker))) });
  }
  return members.sort((a, b) => a.name.localeCompare(b.name));
}

/** Declared by a base class (TypedEmitter's on/once/off): its text would name the base's type parameters. */
function inherited(decl: ts.Node, type: ts.Type): boolean {
  const owner = decl.parent;
  const ownerName = owner && ts.isClassDeclaration(owner) ? owner.name?.text : undefined;
  return ownerName !== undefined && ownerName !== type.getSymbol()?.name;
}

/**
 * A signature as the source writes it (`can(permission: Permission)`, `loadOlderChat(limit = 50)`),
 * not as the checker expands it (every alias spelled out as its union); the checker's return type
 * where the source lets it be inferred.
 */
function signatureText(checker: ts.TypeChecker, signature: ts.Signature): string {
  const decl = signature.getDeclaration();
  if (!decl) return checker.signatureToString(signature, undefined, FORMAT);
  const typeParams = decl.typeParameters ? `<${decl.typeParameters.map((p) => oneLine(p.getText())).join(', ')}>` : '';
  const params = decl.parameters.map((p) => oneLine(p.getText())).join(', ');
  const returns = decl.type ? oneLine(decl.type.getText()) : checker.typeToString(signature.getReturnType(), undefined, FORMAT);
  return `${typeParams}(${params}): ${returns}`;
}

/** The type annotation written on `decl` (property, getter, event tuple), else what the checker infers. */
function written(decl: ts.Node | undefined, inferred: () => string): string {
  const node = decl && 'type' in decl ? (decl.type as ts.TypeNode | undefined) : undefined;
  return node ? oneLine(node.getText()) : inferred();
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').replace(/; }/g, ' }');

function isReadonly(prop: ts.Symbol, decl: ts.Node): boolean {
  if (prop.flags & ts.SymbolFlags.GetAccessor) return !(prop.flags & ts.SymbolFlags.SetAccessor);
  return (ts.getCombinedModifierFlags(decl as ts.Declaration) & ts.ModifierFlags.Readonly) !== 0;
}

function section(lines: string[], title: string, members: Member[], label: (m: Member) => string, level = '###'): void {
  if (!members.length) return;
  lines.push('', `${level} ${title}`, '');
  for (const m of members) lines.push(`- \`${label(m)}${m.signature}\`${m.doc ? ` — ${m.doc}` : ''}`);
}

/** ERROR_CODES as written: each code, its HTTP status and its doc comment. */
function errorCodes(program: ts.Program, checker: ts.TypeChecker): { name: string; status: string; doc: string }[] {
  const file = program.getSourceFile(ERRORS);
  let table: ts.ObjectLiteralExpression | undefined;
  file?.forEachChild(function visit(node): void {
    if (ts.isVariableDeclaration(node) && node.name.getText() === 'ERROR_CODES') {
      const init = node.initializer;
      table = init && ts.isAsExpression(init) ? (init.expression as ts.ObjectLiteralExpression) : (init as ts.ObjectLiteralExpression);
    } else node.forEachChild(visit);
  });
  if (!table) throw new Error('ERROR_CODES not found in signaling/protocol/types/errors.ts');
  return table.properties.filter(ts.isPropertyAssignment).map((p) => ({
    name: p.name.getText(),
    status: p.initializer.getText(),
    doc: firstParagraph(ts.displayPartsToString(checker.getSymbolAtLocation(p.name)?.getDocumentationComment(checker) ?? [])),
  }));
}

/** The first paragraph of a doc comment, on one line (Markdown list items and table cells). */
function firstParagraph(text: string): string {
  return (text.split(/\n\s*\n/)[0] ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(API_FILE, renderApiReference());
  console.log(`wrote ${path.relative(ROOT, API_FILE)}`);
}
