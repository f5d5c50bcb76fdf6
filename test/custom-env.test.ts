import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { localEnvId, moduleEnvId } from '../src/env-loader';
import { train } from '../src/runtime/learner';
import { rl, root } from './helpers/cli';
import { progress } from './helpers/progress';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-envmod-'));
const api = JSON.stringify(path.join(root, 'dist', 'src', 'index.js'));

/**
 * A TypeScript env module for the test: a 4-float observation, two actions, episodes of 20
 * steps; `body` is spliced into step() to break it on purpose.
 */
function envModule(name: string, body: string, extra = ''): string {
  const file = path.join(tmp, `${name}.ts`);
  fs.writeFileSync(
    file,
    `const { Box, Discrete, Rng } = require(${api});
export class ${name} {
  actionSpace = new Discrete(2);
  observationSpace = new Box(-1, 1, [4]);
  t = 0;
  rng = new Rng(0);
  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.t = 0;
    return { obs: new Float32Array(4).fill(this.rng.uniform(-0.5, 0.5)), info: {} };
  }
  step(action: number): any {
    this.t += 1;
    const result: any = { obs: new Float32Array(4).fill(0.1), reward: action === 1 ? 1 : 0, terminated: this.t >= 20, truncated: false, info: {} };
    ${body}
    return result;
  }
  close() {}
  ${extra}
}
`,
  );
  return file;
}

describe('Custom environments', () => {
  it("ships the README's example as files, word for word", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    assert.ok(readme.includes('\n## Your first environment\n'), 'README.md has a section "## Your first environment"');
    const section = readme.slice(readme.indexOf('\n## Your first environment\n'));
    assert.equal(/```ts\n([\s\S]*?)```/.exec(section)![1], fs.readFileSync(path.join(root, 'examples/corridor/corridor.ts'), 'utf8'));
    assert.equal(/```yaml\n([\s\S]*?)```/.exec(section)![1], fs.readFileSync(path.join(root, 'examples/corridor/corridor.yaml'), 'utf8'));
  });

  it("train the README's corridor example through the CLI", () => {
    const r = rl(['train', '--config', 'examples/corridor/corridor.yaml', '--run-dir', path.join(tmp, 'corridor')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: episodeReturnMean (0\.9|1\.0) >= 0\.9\./); // the best return, 0.99 less a step or two, prints as 0.9 or 1.0
  });

  it('`rl check-env` passes a good env and names each violation of a broken one', () => {
    const good = envModule('Good', '');
    const ok = rl(['check-env', `${good}:Good`, '--steps', '100']);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /no problems found/);
    const cases: [string, string, RegExp][] = [
      ['ShortObs', 'if (this.t === 3) result.obs = new Float32Array(3);', /step 3 \(action [01]\): observation is not in observationSpace Box\(shape=\[4\]\): expected 4 elements \(shape \[4\]\), got 3/],
      ['NanReward', 'if (this.t === 5) result.reward = NaN;', /step 5 \(action [01]\): reward must be a finite number, got NaN/],
      ['StringFlag', "if (this.t === 2) result.terminated = 'no';", /step 2 \(action [01]\): terminated must be a boolean, got "no"/],
      ['OutOfBounds', 'if (this.t === 4) result.obs = new Float32Array(4).fill(2);', /step 4 \(action [01]\): observation is not in observationSpace .*element 0 \(2\) is outside \[-1, 1\]/],
      ['Unseeded', 'void 0;', /reset\(\{ seed: 0 \}\) twice gave different observations/],
      ['Picky', 'if (action === 0) throw new Error("no left turns");', /step \d+: threw on action 0 from actionSpace\.sample: no left turns/],
    ];
    for (const [name, body, expected] of cases) {
      const extra = name === 'Unseeded' ? 'calls = 0; reset2 = this.reset; ' : '';
      let file = envModule(name, body, extra);
      if (name === 'Unseeded') {
        // reset ignores the seed: each call draws a new start.
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('if (opts.seed !== undefined) this.rng = new Rng(opts.seed);', 'void opts;'));
      }
      const r = rl(['check-env', `${file}:${name}`, '--steps', '200']);
      assert.equal(r.status, 1, `${name}: ${r.stdout}`);
      assert.match(r.stdout, expected, name);
      assert.match(r.stdout, new RegExp(`^BAD env ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${name}: `, 'm'), name);
      file = '';
    }
  });

  it('stop training on a broken env with its name and the step, before tfjs sees it', async () => {
    const file = envModule('Breaks', 'if (this.t === 7) result.reward = Infinity;');
    const r = rl(['train', '--config', 'configs/ppo-cartpole.yaml', '--set', `env.module=${file}`, '--set', 'env.export=Breaks', '--run-dir', path.join(tmp, 'breaks')]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `error: env ${file}:Breaks: step 7 (action 0): reward must be a finite number, got Infinity\n`.replace('(action 0)', r.stderr.includes('(action 1)') ? '(action 1)' : '(action 0)'));
  });

  it('load the module in every worker; an env that throws loses its episode, is recreated, and the run goes on', async () => {
    const file = envModule('Flaky', 'if (this.rng.random() < 0.002) throw new Error("the flaky env fell over");');
    const lines: string[] = [];
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [
      `env.module=${file}`, 'env.export=Flaky', 'workers.numWorkers=2', 'workers.envsPerWorker=4', 'workers.rolloutLength=64', 'stop.iterations=8', 'ppo.minibatchSize=128',
    ]);
    const run = await train(cfg, { runDir: path.join(tmp, 'flaky'), log: (l) => lines.push(l) });
    assert.equal(run.iterations, 8);
    const last = progress(run.runDir).at(-1)!;
    assert.ok(last.envErrors > 0, 'no env error was reported');
    const shown = lines.filter((l) => l.includes('the flaky env fell over'));
    assert.equal(shown.length, 1, shown.join('\n'));
    assert.match(shown[0], /^worker \d .*: env .*Flaky threw at step \d+: the flaky env fell over \(episode dropped, env recreated; shown once\)$/);
  });

  it('catch an env spoilt after the fully checked steps in the worker, naming the step and the field, and stop when it always is', async () => {
    // NaN observations from step 100 on, past the 64 steps the vector env checks in full: the finite check of every step catches them.
    const file = envModule('Spoils', 'if (this.t >= 100) result.obs = new Float32Array(4).fill(NaN);');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('terminated: this.t >= 20', 'terminated: this.t >= 1000'));
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [`env.module=${file}`, 'env.export=Spoils', 'workers.numWorkers=1', 'workers.envsPerWorker=1', 'workers.rolloutLength=110', 'stop.iterations=3', 'ppo.minibatchSize=64']);
    const lines: string[] = [];
    await assert.rejects(
      train(cfg, { runDir: path.join(tmp, 'spoils'), log: (l) => lines.push(l) }),
      /^RlError: every worker keeps failing: \d+ env errors or bad batches and no good batch since; last: env .*Spoils, step 100: step 100 \(action [01]\): observation is not in observationSpace Box\(shape=\[4\]\): element 0 is NaN$/,
    );
    assert.equal(lines.filter((l) => l.startsWith('dropped a malformed message')).length, 0, 'a spoilt batch reached the learner');
  });

  it('stop with a clear error when every worker keeps failing', async () => {
    const file = envModule('Broken', 'throw new Error("always broken");');
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [`env.module=${file}`, 'env.export=Broken', 'workers.numWorkers=2', 'stop.iterations=3']);
    await assert.rejects(
      train(cfg, { runDir: path.join(tmp, 'broken'), log: () => {} }),
      /^RlError: every worker keeps failing: \d+ env errors or bad batches and no good batch since; last: env .*Broken, step \d+: always broken$/,
    );
  });

  it('`rl evaluate` on a checkpoint of a module env loads the module only from an --env-dir, saying which file', async () => {
    const file = envModule('Judged', '');
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [`env.module=${file}`, 'env.export=Judged', 'stop.iterations=1']);
    const run = await train(cfg, { runDir: path.join(tmp, 'judged'), log: () => {} });
    const refused = rl(['evaluate', '--checkpoint', run.runDir, '--episodes', '2']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`^error: .*: its env is code, the module ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(export Judged\\); rl evaluate loads it only from a directory you name: --env-dir DIR, `));
    const elsewhere = fs.mkdtempSync(path.join(tmp, 'elsewhere-'));
    assert.equal(rl(['evaluate', '--checkpoint', run.runDir, '--episodes', '2', '--env-dir', elsewhere]).status, 1);
    const ok = rl(['evaluate', '--checkpoint', run.runDir, '--episodes', '2', '--json', '--env-dir', tmp]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`^loading env module ${fs.realpathSync(file).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(export Judged\\), as .* metadata names `, 'm'));
    assert.equal(JSON.parse(ok.stdout).episodes, 2);
  });

  it('let a remote worker find a module env at the same path relative to its working directory', () => {
    const learnerDir = path.join(tmp, 'learner-machine', 'project'); // never created: the learner's disk
    const workerDir = fs.mkdtempSync(path.join(tmp, 'worker-machine-'));
    fs.mkdirSync(path.join(workerDir, 'envs'));
    fs.writeFileSync(path.join(workerDir, 'envs', 'grid.ts'), 'export class Grid {}');
    const id = moduleEnvId(path.join(learnerDir, 'envs', 'grid.ts'), 'Grid');
    const cwd = process.cwd();
    process.chdir(workerDir);
    try {
      assert.equal(localEnvId(id, learnerDir), `${path.join(process.cwd(), 'envs', 'grid.ts')}:Grid`);
      assert.equal(localEnvId('CartPole-v1', learnerDir), 'CartPole-v1');
      const here = moduleEnvId(path.join(workerDir, 'envs', 'grid.ts'), 'Grid');
      assert.equal(localEnvId(here, '/elsewhere'), here); // on this machine at the learner's own path: as it is
      assert.throws(
        () => localEnvId(moduleEnvId(path.join(learnerDir, 'envs', 'missing.ts'), 'Grid'), learnerDir),
        (err: Error) => err.message === `env module ${path.join(learnerDir, 'envs', 'missing.ts')} is not on this machine, nor at ${path.join(process.cwd(), 'envs', 'missing.ts')} (a worker looks for it at the same path relative to its working directory as to the learner's, ${learnerDir})`,
      );
    } finally {
      process.chdir(cwd);
    }
  });
});
