import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envSource, type CodePolicy } from '../src/env-code/source';
import { moduleEnvId } from '../src/env-loader';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-env-source-')));
const code = { sha256: 'c0'.repeat(32), bytes: 100 };
const missing = moduleEnvId(path.join(tmp, 'elsewhere', 'grid.ts'), 'Grid'); // the learner's file, not on this machine
const policy = (patch: Partial<CodePolicy> = {}): CodePolicy => ({ acceptCode: true, authenticated: true, insecure: false, trust: { envDirs: [] }, ...patch });
const setup = (envId: string, withCode = true) => ({ envId, learnerDir: path.join(tmp, 'learner'), code: withCode ? code : null });

describe('Where a worker takes a module env from', () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('takes a registered env as it is, whatever the flags', () => {
    assert.deepEqual(envSource(setup('CartPole-v1', false), policy({ acceptCode: false, authenticated: false })), { kind: 'registered', envId: 'CartPole-v1' });
  });

  it('runs shipped code only with --accept-code over an authenticated CURVE link', () => {
    assert.deepEqual(envSource(setup(missing), policy()), { kind: 'shipped', code, exportName: 'Grid' });
  });

  it('refuses shipped code without --accept-code, naming the flag', () => {
    const r = envSource(setup(missing), policy({ acceptCode: false }));
    assert.equal(r.kind, 'refuse');
    assert.match((r as { reason: string }).reason, /^the learner ships its env code \(grid\.ts, sha256 c0c0c0c0c0c0\); this worker runs shipped code only when started with --accept-code$/);
  });

  it('refuses shipped code over --insecure even with --accept-code', () => {
    const r = envSource(setup(missing), policy({ insecure: true, authenticated: false }));
    assert.match((r as { reason: string }).reason, /never run over a link without CURVE \(--insecure\): connect with --keys DIR and --learner-key FILE$/);
  });

  it('refuses shipped code on a link that proves no learner key (loopback without keys), naming --learner-key', () => {
    const r = envSource(setup(missing), policy({ authenticated: false }));
    assert.match((r as { reason: string }).reason, /add --keys DIR and --learner-key FILE$/);
  });

  it("uses the worker's own copy from an --env-dir when it does not accept code", () => {
    const dir = path.join(tmp, 'mine');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'grid.ts'), 'export class Grid {}');
    const id = moduleEnvId(path.join(dir, 'grid.ts'), 'Grid');
    assert.deepEqual(envSource(setup(id), policy({ acceptCode: false, trust: { envDirs: [dir] } })), { kind: 'local', envId: id });
  });

  it('refuses a module env the learner does not ship and this machine lacks, with the loader’s reason', () => {
    const r = envSource(setup(missing, false), policy());
    assert.equal(r.kind, 'refuse');
    assert.match((r as { reason: string }).reason, /^env module .*grid\.ts is not on this machine[^;]*\)$/);
  });

  it('says, on a link without CURVE, that the learner ships code only over CURVE', () => {
    const r = envSource(setup(missing, false), policy({ insecure: true, authenticated: false }));
    assert.match((r as { reason: string }).reason, /^env module .*grid\.ts is not on this machine.*; a learner ships env code only over CURVE \(--keys and --learner-key here, --keys and --allowed-keys there\)$/);
  });
});
