import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root } from './helpers/cli';

// test/api-docs.test.ts finds an undocumented export from the syntax alone, in a fraction of a
// second, but it cannot see everything TypeDoc does: a type the API refers to that no entry point
// exports, or a member a class adds beyond the interface it implements. This runs TypeDoc itself,
// as `npm run docs:api` does (warnings are errors in typedoc.json), into a temporary folder.
describe('npm run docs:api (TypeDoc)', function () {
  this.timeout(180_000);

  it('builds the API reference with no warnings', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-typedoc-'));
    try {
      const run = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, encoding: 'utf8', timeout: 170_000 });
      const text = `${run.stdout}${run.stderr}`;
      assert.equal(run.status, 0, `typedoc exited ${run.status}:\n${text}`);
      assert.doesNotMatch(text, /warning/, text);
      assert.ok(fs.existsSync(path.join(out, 'index.html')), 'it wrote index.html');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
