import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/**
 * Pages that other branches of issue 22 write (the generated config reference, the
 * troubleshooting page, the API reference's entry page). Links to them may point at nothing
 * until those branches are merged; once a page exists, its links and anchors are checked like
 * any other. Empty this list when all three are in.
 */
/** README.md, CHANGELOG.md and every Markdown file under docs/, relative to the root. */
function pages(): string[] {
  const found = ['README.md', 'CHANGELOG.md'];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.md')) found.push(rel);
    }
  };
  walk('docs');
  return found;
}

/** The text outside fenced code blocks. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
}

/** The text outside code and math: fenced blocks and `$$` blocks dropped, inline code and `$...$` blanked (a link there is not a link). */
function prose(markdown: string): string {
  const blank = (span: string) => span.replace(/[[\]()]/g, ' ');
  return withoutFences(markdown)
    .replace(/^\$\$\n[\s\S]*?^\$\$$/gm, '')
    .replace(/`[^`\n]*`/g, blank)
    .replace(/\$[^$\n]+\$/g, blank);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a page's headings give, as GitHub numbers repeats (`name`, `name-1`, ...). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(markdown).replace(/`/g, '').matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** `[text](target)` and `![alt](target)` links of a page that point inside the repository. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const m of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push(m[1]);
  }
  return links;
}

/** What is wrong with each relative link of `page`: a file that does not exist, or an anchor no heading gives. */
function brokenLinks(page: string, read: (rel: string) => string | undefined): string[] {
  const text = read(page);
  if (text === undefined) return [`${page}: no such page`];
  const problems: string[] = [];
  for (const link of relativeLinks(text)) {
    const [file, anchor] = link.split('#', 2);
    const target = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), decodeURI(file)));
    const body = read(target);
    if (body === undefined && !fs.existsSync(path.join(root, target))) {
      problems.push(`${page}: link ${link}: ${target} does not exist`);
      continue;
    }
    if (anchor !== undefined && target.endsWith('.md') && body !== undefined && !anchors(body).has(anchor)) {
      problems.push(`${page}: link ${link}: ${target} has no heading whose anchor is #${anchor}`);
    }
  }
  return problems;
}

function readPage(rel: string): string | undefined {
  const file = path.join(root, rel);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;
}

describe('The documentation', () => {
  it('has every relative link of README.md, CHANGELOG.md and docs/**/*.md pointing at an existing file and heading', () => {
    const all = pages();
    assert.ok(all.length >= 14, `found only ${all.join(', ')}`);
    assert.deepEqual(all.flatMap((page) => brokenLinks(page, readPage)), []);
  });

  it('makes anchors as GitHub does: code, punctuation and case dropped, repeats numbered', () => {
    assert.equal(slug('In the browser: rl view'), 'in-the-browser-rl-view');
    assert.equal(slug('Training it, locally and on two worker processes'), 'training-it-locally-and-on-two-worker-processes');
    assert.deepEqual([...anchors('# A\n## `rl check-env`\n```sh\n# not a heading\n```\n## Same\n## Same\n')], ['a', 'rl-check-env', 'same', 'same-1']);
  });

  it('names a missing file and a missing heading, and ignores links inside code and math', () => {
    const pagesByName: Record<string, string> = {
      'docs/a.md': '# A\n[b](b.md#there) [gone](gone.md) [self](#a) [nowhere](#nowhere) `[x](in-code.md)` $S[\\pi](s)$\n```\n[y](in-block.md)\n```\n[web](https://example.com/x.md)\n',
      'docs/b.md': '# B\n## Here\n',
    };
    assert.deepEqual(brokenLinks('docs/a.md', (rel) => pagesByName[rel]), [
      'docs/a.md: link b.md#there: docs/b.md has no heading whose anchor is #there',
      'docs/a.md: link gone.md: docs/gone.md does not exist',
      'docs/a.md: link #nowhere: docs/a.md has no heading whose anchor is #nowhere',
    ]);
  });
});
