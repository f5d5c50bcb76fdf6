import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');

/**
 * The exported symbols of the API's entry points (typedoc.json's `entryPoints`) that have no doc
 * comment, members included: what `npm run docs` (TypeDoc's `notDocumented`, warnings as
 * errors) refuses, found here from the syntax alone (each file parsed, re-exports followed), in
 * a fraction of a second instead of TypeDoc's whole type-checked program. A member of a class
 * that `implements` an interface may go without one: TypeDoc gives it the interface's.
 */
function undocumented(entryPoints: string[], read: (file: string) => string | undefined): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, wanted: 'all' | 'types' | Set<string>) => {
    const key = `${file} ${wanted instanceof Set ? [...wanted].join(',') : wanted}`;
    if (seen.has(key)) return;
    seen.add(key);
    const text = read(file);
    if (text === undefined) throw new Error(`undocumented: cannot read ${file}`);
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const where = (node: ts.Node, name: string) => `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${name}`;
    const local = new Set<string>();
    for (const s of source.statements) {
      if (ts.isExportDeclaration(s) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) {
        const target = resolve(file, s.moduleSpecifier.text, read);
        if (!s.exportClause) visit(target, wanted instanceof Set ? wanted : s.isTypeOnly ? 'types' : wanted);
        else if (ts.isNamedExports(s.exportClause)) {
          const names = s.exportClause.elements.filter((e) => !(wanted instanceof Set) || wanted.has(e.name.text)).map((e) => (e.propertyName ?? e.name).text);
          if (names.length > 0) visit(target, new Set(names));
        }
      } else if (ts.isExportDeclaration(s) && s.exportClause && ts.isNamedExports(s.exportClause)) {
        for (const e of s.exportClause.elements) local.add((e.propertyName ?? e.name).text);
      }
    }
    for (const s of source.statements) {
      const name = declaredName(s);
      if (name === undefined) continue;
      const exported = ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      const isType = ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s);
      const want = wanted === 'all' ? exported : wanted === 'types' ? exported && isType : wanted.has(name) || (exported && local.has(name));
      if (want) checkDeclaration(s, name, where, found);
    }
  };
  for (const entry of entryPoints) visit(path.resolve(root, entry), 'all');
  return [...new Set(found)];
}

function resolve(from: string, specifier: string, read: (file: string) => string | undefined): string {
  const base = path.resolve(path.dirname(from), specifier);
  const file = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => read(f) !== undefined);
  if (!file) throw new Error(`undocumented: cannot resolve '${specifier}' from ${from}`);
  return file;
}

function declaredName(s: ts.Statement): string | undefined {
  if (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isEnumDeclaration(s)) return s.name?.text;
  if (ts.isVariableStatement(s)) return s.declarationList.declarations.map((d) => (ts.isIdentifier(d.name) ? d.name.text : '')).join(',');
  return undefined;
}

const hasDoc = (node: ts.Node) => ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d));

function checkDeclaration(s: ts.Statement, name: string, where: (node: ts.Node, name: string) => string, found: string[]): void {
  if (!hasDoc(s)) found.push(where(s, name));
  const members = (owner: string, list: readonly ts.Node[]) => {
    for (const m of list) {
      const memberName = (m as ts.NamedDeclaration).name?.getText() ?? '';
      if (!memberName || ts.isIndexSignatureDeclaration(m)) continue;
      if (!hasDoc(m)) found.push(where(m, `${owner}.${memberName}`));
      const type = (m as ts.PropertySignature).type;
      if (type) literals(type, `${owner}.${memberName}`);
    }
  };
  // Members of object types written inline (`head: { kind; w }`), also inside unions and arrays.
  const literals = (type: ts.TypeNode, owner: string) => {
    if (ts.isTypeLiteralNode(type)) members(owner, type.members);
    else if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) type.types.forEach((t) => literals(t, owner));
    else if (ts.isArrayTypeNode(type)) literals(type.elementType, owner);
    else if (ts.isParenthesizedTypeNode(type)) literals(type.type, owner);
  };
  if (ts.isInterfaceDeclaration(s)) members(name, s.members);
  if (ts.isTypeAliasDeclaration(s)) literals(s.type, name);
  if (ts.isClassDeclaration(s)) {
    const inherits = s.heritageClauses?.some((h) => h.token === ts.SyntaxKind.ImplementsKeyword) ?? false;
    const isPublic = (m: ts.Node) => !ts.getCombinedModifierFlags(m as ts.Declaration) || !(ts.getCombinedModifierFlags(m as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected | ts.ModifierFlags.Override));
    const own = s.members.filter((m) => !ts.isConstructorDeclaration(m) && !ts.isClassStaticBlockDeclaration(m) && isPublic(m) && !(m.name && ts.isPrivateIdentifier(m.name)));
    const params = s.members.filter(ts.isConstructorDeclaration).flatMap((c) => c.parameters.filter((p) => ts.isParameterPropertyDeclaration(p, c) && isPublic(p)));
    members(
      name,
      [...own, ...params].filter((m) => !inherits || hasDoc(m)),
    );
  }
}

/** The entry points TypeDoc documents: one list, in typedoc.json. */
const entryPoints: string[] = JSON.parse(fs.readFileSync(path.join(root, 'typedoc.json'), 'utf8')).entryPoints;
const readDisk = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

describe("the API reference's doc comments", () => {
  it('cover every symbol the API entry points export, and its members (as `npm run docs` demands)', () => {
    assert.ok(entryPoints.includes('src/index.ts'), `${entryPoints}`);
    assert.deepEqual(undocumented(entryPoints, readDisk), []);
  });

  it('are found missing on an exported function, an interface member, an inline object member and a public class member, through re-exports', () => {
    const files: Record<string, string> = {
      [path.join(root, 'api', 'index.ts')]: "/** The root. */\nexport * from './a';\nexport { B } from './b';\nexport type * from './c';\n",
      [path.join(root, 'api', 'a.ts')]: 'export function f(): void {}\n/** Kept private. */\nfunction g(): void {}\n',
      [path.join(root, 'api', 'b.ts')]: '/** B. */\nexport class B {\n  /** Documented. */\n  x = 1;\n  y = 2;\n  private z = 3;\n  constructor(readonly w: number) {}\n}\n/** Not re-exported. */\nexport class Hidden {\n  q = 1;\n}\n',
      [path.join(root, 'api', 'c.ts')]: '/** C. */\nexport interface C {\n  /** The head. */\n  head: { kind: string };\n  n: number;\n}\nexport const value = 1;\n',
    };
    assert.deepEqual(undocumented(['api/index.ts'], (f) => files[f]), ['api/a.ts:1: f', 'api/b.ts:5: B.y', 'api/b.ts:7: B.w', 'api/c.ts:4: C.head.kind', 'api/c.ts:5: C.n']);
  });
});
