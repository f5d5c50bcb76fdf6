import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');
/** The folders whose errors reach a user: the runtime and CLI, the contract, the envs, the algorithms. */
const FOLDERS = ['core', 'envs', 'algorithms', 'src'];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** One `new SomeError(...)` in the code: its class, where, and the longest literal text of its message. */
interface ThrowSite {
  errorClass: string;
  where: string;
  /** The message's longest run of literal text (between `${...}`s), or '' when it is not written out there. */
  phrase: string;
}

/** The user's error classes, RlError and every class that extends it, whichever file declares them. */
function errorClasses(sources: Map<string, ts.SourceFile>): string[] {
  const parent = new Map<string, string>();
  for (const source of sources.values()) {
    source.forEachChild(function walk(node) {
      if (ts.isClassDeclaration(node) && node.name) {
        const base = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
        if (base && ts.isIdentifier(base)) parent.set(node.name.text, base.text);
      }
      node.forEachChild(walk);
    });
  }
  const isUsers = (name: string): boolean => name === 'RlError' || (parent.has(name) && isUsers(parent.get(name)!));
  return [...parent.keys()].filter(isUsers).sort();
}

/** The literal text of a message written in place: strings, templates between their `${...}`s, and `+` of them. */
function literalParts(e: ts.Expression): string[] {
  if (ts.isStringLiteralLike(e)) return [e.text];
  if (ts.isTemplateExpression(e)) return [e.head.text, ...e.templateSpans.map((s) => s.literal.text)];
  if (ts.isParenthesizedExpression(e)) return literalParts(e.expression);
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return [...literalParts(e.left), ...literalParts(e.right)];
  return [];
}

function throwSites(sources: Map<string, ts.SourceFile>, classes: string[]): ThrowSite[] {
  const sites: ThrowSite[] = [];
  for (const [file, source] of sources) {
    source.forEachChild(function walk(node) {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && classes.includes(node.expression.text)) {
        const parts = (node.arguments ?? []).map(literalParts).find((p) => p.length > 0) ?? [];
        const phrase = parts.reduce((a, b) => (b.length > a.length ? b : a), '');
        sites.push({ errorClass: node.expression.text, where: `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, phrase });
      }
      node.forEachChild(walk);
    });
  }
  return sites;
}

/** A message's phrase shorter than this (`: `, `env `) says nothing of its family: its class's section covers it. */
const MIN_PHRASE = 8;

/** The page's text under each `## Class` heading, up to the next one. */
function sectionsOf(page: string): Map<string, string> {
  const sections = new Map<string, string>();
  for (const part of page.split(/^## /m).slice(1)) sections.set(part.slice(0, part.indexOf('\n')).trim(), part);
  return sections;
}

/** What the page lacks: a section per error class, and under it the phrase of each message written in the code. */
function missingEntries(page: string, classes: string[], sites: ThrowSite[]): string[] {
  const sections = sectionsOf(page);
  const missing = classes.filter((c) => !sections.has(c)).map((c) => `no section "## ${c}"`);
  for (const site of sites) {
    const phrase = site.phrase.trim();
    const section = sections.get(site.errorClass);
    if (section && phrase.length >= MIN_PHRASE && !section.includes(phrase)) missing.push(`${site.where}: ${site.errorClass} "${phrase}"`);
  }
  return missing;
}

/** The kinds a dropped message is counted by (`RejectKind` in src/transport/codec.ts). */
function rejectKinds(source: ts.SourceFile): string[] {
  const alias = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'RejectKind');
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error('RejectKind: not a union in src/transport/codec.ts');
  return alias.type.types.map((t) => (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : t.getText()));
}

const sources = new Map(FOLDERS.flatMap((f) => tsFiles(path.join(root, f))).map((file) => [file, ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)]));
const page = fs.readFileSync(path.join(root, 'docs', 'troubleshooting.md'), 'utf8');
const parse = (files: Record<string, string>) => new Map(Object.entries(files).map(([f, text]) => [f, ts.createSourceFile(f, text, ts.ScriptTarget.ES2022, true)]));

describe('docs/troubleshooting.md', () => {
  const classes = errorClasses(sources);
  const sites = throwSites(sources, classes);

  it("has a section for every error class a user can meet: RlError and every class that extends it, in core/, envs/, algorithms/ and src/", () => {
    assert.ok(['RlError', 'ConfigError', 'EnvError', 'ProtocolError', 'CheckpointError', 'BadCheckpointError', 'TrainingError', 'NonFiniteError', 'MessageRejected'].every((c) => classes.includes(c)), `${classes}`);
    assert.deepEqual(classes.filter((c) => !sectionsOf(page).has(c)), []);
  });

  it('quotes, under its class, the words of every error message written in the code (a new or reworded message needs its line there)', () => {
    assert.ok(sites.length > 100 && sites.filter((s) => s.phrase.trim().length >= MIN_PHRASE).length > 100, `${sites.length} sites`);
    assert.deepEqual(missingEntries(page, classes, sites), []);
  });

  it('names every kind by which a dropped message is counted', () => {
    const codec = sources.get(path.join(root, 'src', 'transport', 'codec.ts'))!;
    const section = sectionsOf(page).get('MessageRejected')!;
    assert.deepEqual(rejectKinds(codec).filter((k) => !section.includes(`\`${k}\``)), []);
  });

  it('finds a class without a section and a message without its line, and reads a message from a template, a string and a + of them', () => {
    const code = parse({
      'a.ts': 'class RlError extends Error {}\nclass ConfigError extends RlError {}\nclass Bug extends Error {}\nclass LateError extends ConfigError {}',
      'b.ts': [
        'throw new ConfigError(`${file}: stop must set at least one of ${keys}`);',
        "throw new LateError('a message nobody documented');",
        "throw new ConfigError(`${flag} (${text}) must be ` + 'a whole number from 1');",
        'throw new Bug(`not a user error`);',
        'throw new ConfigError(`${a}: ${b}`);',
      ].join('\n'),
    });
    const found = errorClasses(code);
    assert.deepEqual(found, ['ConfigError', 'LateError', 'RlError']);
    const phrases = throwSites(code, found).map((s) => s.phrase);
    assert.deepEqual(phrases, [': stop must set at least one of ', 'a message nobody documented', 'a whole number from 1', ': ']);
    const doc = '# T\n## RlError\n## ConfigError\n- `FILE: stop must set at least one of KEYS`\n## LateError\n';
    assert.deepEqual(
      missingEntries(doc, found, throwSites(code, found)).map((m) => m.replace(/^.*?: /, '')),
      ['LateError "a message nobody documented"', 'ConfigError "a whole number from 1"'],
    );
    assert.deepEqual(missingEntries('## RlError\n', found, []), ['no section "## ConfigError"', 'no section "## LateError"']);
  });
});
