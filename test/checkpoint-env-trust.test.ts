import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCheckpoints } from '../src/checkpoint';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { startViewServer } from '../src/view/server';
import { rl, root } from './helpers/cli';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-env-trust-')));
// The env modules import the package by name, as a user's would (esbuild maps it for the page).
fs.mkdirSync(path.join(tmp, 'node_modules'));
fs.symlinkSync(root, path.join(tmp, 'node_modules', 'rl-zmq'));
/** Each process that loads the env module appends its pid here: a command that must not run it leaves the file absent. */
const ran = path.join(tmp, 'ran.txt');
const SENTINEL = 'env-module-sentinel-7c1d';

/** An env module in its own folder `dir`: 4-float observations, two actions, 20-step episodes; loading it is recorded in `ran`. */
function envModule(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'counted.ts');
  fs.writeFileSync(
    file,
    `import { Box, Discrete } from 'rl-zmq';
(globalThis as any).process?.getBuiltinModule?.('node:fs').appendFileSync(${JSON.stringify(ran)}, process.pid + '\\n');
export class Counted {
  actionSpace = new Discrete(2);
  observationSpace = new Box(-1, 1, [4]);
  t = 0;
  reset() { this.t = 0; return { obs: new Float32Array(4).fill(0.1), info: { tag: '${SENTINEL}' } }; }
  step(action: number): any { this.t += 1; return { obs: new Float32Array(4).fill(0.1), reward: action, terminated: this.t >= 20, truncated: false, info: {} }; }
  close() {}
}
`,
  );
  return file;
}

function get(base: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(new URL(url, base), (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A copy of the trained run, so that each command starts from the same one. */
let n = 0;
function copy(run: string): string {
  const dir = path.join(tmp, `run-${++n}`);
  fs.cpSync(run, dir, { recursive: true });
  return dir;
}

describe('security: an env module named by a checkpoint or a run dir runs only from an --env-dir (issue 20)', function () {
  this.timeout(120_000);
  const envDir = path.join(tmp, 'env');
  let file: string;
  let run: string;
  const small = ['workers.envsPerWorker=2', 'workers.rolloutLength=32', 'ppo.minibatchSize=32', 'ppo.numEpochs=1', 'model.hiddenSizes=[8]', 'stop.iterations=1'];

  before(async () => {
    file = envModule(envDir);
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [`env.module=${file}`, 'env.export=Counted', ...small]);
    run = (await train(cfg, { runDir: path.join(tmp, 'trained'), log: () => {} })).runDir;
  });

  beforeEach(() => fs.rmSync(ran, { force: true })); // this process loaded it to train

  /** The one line every command gives, naming the module, where it was named, the command and the flag. */
  const refusal = (source: string, command: string) =>
    `${source}: its env is code, the module ${file} (export Counted); ${command} loads it only from a directory you name: --env-dir DIR, the folder that holds ${file} or your copy of counted.ts`;

  it('rl train --resume without --config refuses to run the module its checkpoint names, naming the module, the checkpoint and --env-dir', () => {
    const dir = copy(run);
    const r = rl(['train', '--resume', dir, '--set', 'stop.iterations=2']);
    assert.equal(r.stderr, `error: ${refusal(listCheckpoints(dir).at(-1)!, 'rl train --resume')}\n`);
    assert.equal(r.status, 1);
    assert.equal(fs.existsSync(ran), false, 'the module ran');
    assert.equal(listCheckpoints(dir).length, 1, 'nothing trained');
  });

  it('rl train --resume runs the module from the --env-dir the user names, and says which file', () => {
    const dir = copy(run);
    const r = rl(['train', '--resume', dir, '--set', 'stop.iterations=2', '--env-dir', envDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^loading env module ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(export Counted\\), as .*'s metadata names `, 'm'));
    assert.ok(fs.existsSync(ran), 'the module was loaded');
    assert.equal(path.basename(listCheckpoints(dir).at(-1)!), 'iter_000002');
  });

  it('rl train --resume refuses an --env-dir that does not hold the module, without running it', () => {
    const elsewhere = fs.mkdtempSync(path.join(tmp, 'elsewhere-'));
    const r = rl(['train', '--resume', copy(run), '--set', 'stop.iterations=2', '--env-dir', elsewhere]);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`rl train --resume loads it only from a directory you name: .* \\(not found in ${elsewhere.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)\\n$`));
    assert.equal(fs.existsSync(ran), false, 'the module ran');
  });

  it('rl evaluate refuses the module by the same rule, in the same words', () => {
    const dir = copy(run);
    const r = rl(['evaluate', '--checkpoint', dir, '--episodes', '1']);
    assert.equal(r.stderr, `error: ${refusal(listCheckpoints(dir).at(-1)!, 'rl evaluate')}\n`);
    assert.equal(fs.existsSync(ran), false, 'the module ran');
  });

  it("rl view bundles the run's env module into the page only from an --env-dir, and says why not in the page", async () => {
    const dir = copy(run);
    const warnings: string[] = [];
    const refused = await startViewServer({ runDir: dir, port: 0, host: '127.0.0.1', log: (l) => warnings.push(l) });
    try {
      const info = JSON.parse((await get(refused.url, '/api/run')).body);
      assert.equal(info.envProblem, refusal(path.join(fs.realpathSync(dir), 'config.yaml'), 'rl view'));
      assert.doesNotMatch((await get(refused.url, '/app.js')).body, new RegExp(SENTINEL), 'the module is in the page');
      assert.deepEqual(warnings, [`warning: ${info.envProblem}; the page shows the run, but cannot play its env`]);
    } finally {
      await refused.close();
    }
    const allowed = await startViewServer({ runDir: dir, port: 0, host: '127.0.0.1', envDirs: [envDir] });
    try {
      assert.equal(JSON.parse((await get(allowed.url, '/api/run')).body).envProblem, undefined);
      assert.match((await get(allowed.url, '/app.js')).body, new RegExp(SENTINEL), 'the module is not in the page');
    } finally {
      await allowed.close();
    }
  });

  it('rl export writes the policy of a module env checkpoint without loading the module (the spaces are in the metadata)', () => {
    const out = path.join(tmp, 'policy.mjs');
    const r = rl(['export', '--checkpoint', copy(run), '--format', 'js', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(out));
    assert.equal(fs.existsSync(ran), false, 'the module ran');
  });

  it('rl train --resume auto runs the env its --config names, and refuses a checkpoint that names another module', () => {
    const dir = copy(run);
    const ckpt = listCheckpoints(dir).at(-1)!;
    const other = envModule(path.join(tmp, 'other'));
    const metaFile = path.join(ckpt, 'metadata.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    meta.config.env = { ...meta.config.env, id: `${other}:Counted`, module: other };
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    const config = path.join(tmp, 'auto.yaml');
    fs.writeFileSync(config, fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8'));
    const r = rl(['train', '--config', config, '--run-dir', dir, '--resume', 'auto', '--set', 'stop.iterations=2']);
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, new RegExp(`^error: --resume ${ckpt}: env\\.id \\("${tmp}/env/.*"\\) differs from the checkpoint's \\("${tmp}/other/.*"\\); a resumed run keeps`));
    assert.equal(fs.existsSync(ran), false, 'a module ran');
  });
});
