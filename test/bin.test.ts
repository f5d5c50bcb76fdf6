import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

describe('The rl command', () => {
  it("runs as the README writes it, `npx rl ...` (the build makes dist/src/cli.js executable)", () => {
    const r = spawnSync('npx', ['rl', 'envs'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^CartPole-v1 /m);
  });
});
