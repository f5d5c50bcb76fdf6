import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BEST_ASIDE, bestCheckpoint, bestOnResume, recoverBest, saveBest, listCheckpoints, loadCheckpoint, readMetadata, resolveCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { startViewServer } from '../src/view/server';
import { ConfigError } from '../core/errors';
import { rl, root } from './helpers/cli';
import { fakeCheckpoint } from './helpers/fake-checkpoint';
import { progress } from './helpers/progress';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-best-'));
const quiet = { log: () => {} };
// Small and quick: 4 envs x 64 steps per iteration, 3 greedy episodes per evaluation.
const small = ['workers.envsPerWorker=4', 'workers.rolloutLength=64', 'ppo.minibatchSize=64', 'ppo.numEpochs=2', 'ppo.lrSchedule=constant', 'evaluation.episodes=3'];

function config(overrides: string[]) {
  return loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [...small, ...overrides]);
}

/** The first row with the highest evalReturnMean: the one a strict "beats the best so far" keeps. */
function bestRow(rows: Record<string, number>[]): Record<string, number> {
  return rows.filter((r) => typeof r.evalReturnMean === 'number').reduce((a, b) => (b.evalReturnMean > a.evalReturnMean ? b : a));
}

function tensorValue(dir: string): number {
  return loadCheckpoint(dir).algorithm.tensors[0].data[0];
}

describe('The best checkpoint (checkpoint.best)', () => {
  const runDir = path.join(tmp, 'run');
  let first: Awaited<ReturnType<typeof train>>;

  before(async function () {
    this.timeout(120_000);
    // Evaluation every iteration; a periodic checkpoint every iteration, but only the newest kept.
    first = await train(config(['stop.iterations=5', 'evaluation.every=1', 'checkpoint.every=1', 'checkpoint.keep=1', 'seed=3']), { runDir, ...quiet });
  });

  it("is the policy of the best evaluation in progress.jsonl, its evaluation in the metadata, and it loads", () => {
    const best = bestRow(progress(runDir));
    assert.equal(first.best, path.join(runDir, 'checkpoints', 'best'));
    const meta = readMetadata(first.best!);
    assert.deepEqual(meta.evaluation, { mean: best.evalReturnMean, std: best.evalReturnStd, episodes: 3, iteration: best.iteration });
    assert.equal(meta.iteration, best.iteration);
    assert.equal(loadCheckpoint(first.best!).metadata.envSteps, best.envSteps);
  });

  it('is left alone by pruning (keep: 1) and is not among the listed checkpoints', () => {
    assert.deepEqual(listCheckpoints(runDir).map((d) => path.basename(d)), ['iter_000005']);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'best', 'metadata.json')));
  });

  it('is what a run dir resolves to for evaluating, --latest the newest; resuming takes the newest; a checkpoint dir is taken as is', () => {
    const said: string[] = [];
    const say = (l: string) => said.push(l);
    const e = readMetadata(first.best!).evaluation!;
    assert.equal(resolveCheckpoint(runDir, { prefer: 'best', say }), first.best);
    assert.equal(resolveCheckpoint(runDir, { prefer: 'latest', say }), path.join(runDir, 'checkpoints', 'iter_000005'));
    assert.equal(resolveCheckpoint(runDir), path.join(runDir, 'checkpoints', 'iter_000005')); // what rl train --resume calls
    assert.equal(resolveCheckpoint(first.best!, { prefer: 'latest', say }), first.best);
    assert.deepEqual(said, [
      `using checkpoints/best (iteration ${e.iteration}, evaluation ${e.mean.toFixed(1)} ± ${e.std.toFixed(1)} over 3 episodes); --latest for the newest (iter_000005)`,
      'using checkpoints/iter_000005, the newest',
    ]);
    // A run without a best: its newest, silently, as before checkpoint.best.
    const plain = path.join(tmp, 'no-best');
    saveCheckpoint(plain, fakeCheckpoint(2), 5);
    said.length = 0;
    assert.equal(resolveCheckpoint(plain, { prefer: 'best', say }), path.join(plain, 'checkpoints', 'iter_000002'));
    assert.deepEqual(said, []);
  });

  it('`rl evaluate RUN_DIR` says it takes the best, `--latest` the newest; `rl info` lists the best beside the others', () => {
    const e = readMetadata(first.best!).evaluation!;
    const a = rl(['evaluate', '--checkpoint', runDir, '--episodes', '2', '--json']);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stderr, new RegExp(`^using checkpoints/best \\(iteration ${e.iteration}, evaluation ${e.mean.toFixed(1)} ± `, 'm'));
    assert.equal(JSON.parse(a.stdout).episodes, 2);
    const b = rl(['evaluate', '--checkpoint', runDir, '--episodes', '2', '--latest']);
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stderr, /^using checkpoints\/iter_000005, the newest$/m);
    assert.match(b.stdout, /iter_000005 \(iteration 5,/);
    const info = rl(['info', runDir]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`\\n {2}best checkpoint: .*best \\(iteration ${e.iteration},`));
    assert.match(info.stdout, new RegExp(`\\n {2}checkpoints: iter_000005, best \\(iteration ${e.iteration}, evaluation ${e.mean.toFixed(1)} ± [\\d.]+ over 3 episodes\\)\\n`));
    assert.match(rl(['info', runDir, '--latest']).stdout, /\n {2}latest checkpoint: .*iter_000005 \(iteration 5,/);
  });

  it('`rl view` lists it as `best` (with its evaluation) after the periodic ones and serves its policy', async () => {
    const server = await startViewServer({ runDir, port: 0, host: '127.0.0.1' });
    try {
      const info = (await (await fetch(`${server.url}api/run`)).json()) as { checkpoints: { name: string; evaluation?: unknown }[] };
      assert.deepEqual(info.checkpoints.map((c) => c.name), ['iter_000005', 'best']);
      assert.deepEqual(info.checkpoints[1].evaluation, readMetadata(first.best!).evaluation);
      const policy = await fetch(`${server.url}api/policy/best.js`);
      assert.equal(policy.status, 200);
      assert.match(await policy.text(), /export function act\(/);
    } finally {
      await server.close();
    }
  });

  it('survives a resume: the resumed run continues from the newest and replaces the best only with a better evaluation', async function () {
    this.timeout(120_000);
    const before = readMetadata(first.best!).evaluation!;
    const resumed = await train(config(['stop.iterations=9', 'evaluation.every=1', 'checkpoint.every=1', 'checkpoint.keep=1', 'seed=3']), { resume: resolveCheckpoint(runDir), ...quiet });
    const rows = progress(runDir);
    assert.deepEqual(rows.map((r) => r.iteration), [1, 2, 3, 4, 5, 6, 7, 8, 9]); // continued from iteration 5, not from the best
    const best = bestRow(rows);
    const after = readMetadata(resumed.best!).evaluation!;
    assert.deepEqual(after, { mean: best.evalReturnMean, std: best.evalReturnStd, episodes: 3, iteration: best.iteration });
    assert.ok(after.mean >= before.mean);
    if (best.iteration <= 5) assert.deepEqual(after, before); // never replaced by a worse evaluation after the resume
  });
});

describe('Replacing the best checkpoint', () => {
  it('never leaves a run without a best when killed between setting the old one aside and renaming the new one in', () => {
    const runDir = path.join(tmp, 'swap');
    saveBest(runDir, fakeCheckpoint(3, { evaluation: { mean: 30, iteration: 3 } }));
    const ckpts = path.join(runDir, 'checkpoints');
    // What a kill after step 2 of saveBest leaves: the old best set aside, the new one complete in its temporary folder.
    fs.renameSync(path.join(ckpts, 'best'), path.join(ckpts, BEST_ASIDE));
    saveCheckpoint(path.join(tmp, 'scratch'), fakeCheckpoint(5), 1);
    fs.renameSync(path.join(tmp, 'scratch', 'checkpoints', 'iter_000005'), path.join(ckpts, '.tmp-best-999999'));
    assert.equal(fs.existsSync(path.join(ckpts, 'best')), false);
    // A reader still finds a best (the previous one), and takes it for a run dir.
    assert.equal(bestCheckpoint(runDir), path.join(ckpts, BEST_ASIDE));
    assert.equal(tensorValue(resolveCheckpoint(runDir, { prefer: 'best' })), 3);
    // The learner puts it back.
    recoverBest(runDir);
    assert.deepEqual(fs.readdirSync(ckpts).sort(), ['.tmp-best-999999', 'best']);
    assert.equal(tensorValue(bestCheckpoint(runDir)!), 3);
    // The next save removes the half-finished one and replaces the best.
    saveBest(runDir, fakeCheckpoint(7, { evaluation: { mean: 70, iteration: 7 } }));
    assert.deepEqual(fs.readdirSync(ckpts).sort(), ['best']);
    assert.equal(tensorValue(bestCheckpoint(runDir)!), 7);
  });

  it('takes the new best when killed after renaming it in but before deleting the old one', () => {
    const runDir = path.join(tmp, 'swap-late');
    saveBest(runDir, fakeCheckpoint(3, { evaluation: { mean: 30, iteration: 3 } }));
    const ckpts = path.join(runDir, 'checkpoints');
    // The old best aside, partly deleted (its tensors gone), the new one in place.
    fs.renameSync(path.join(ckpts, 'best'), path.join(ckpts, BEST_ASIDE));
    fs.rmSync(path.join(ckpts, BEST_ASIDE, 'tensors.bin'));
    saveBest(path.join(tmp, 'new'), fakeCheckpoint(8, { evaluation: { mean: 80, iteration: 8 } }));
    fs.renameSync(path.join(tmp, 'new', 'checkpoints', 'best'), path.join(ckpts, 'best'));
    assert.equal(tensorValue(bestCheckpoint(runDir)!), 8);
    recoverBest(runDir);
    assert.deepEqual(fs.readdirSync(ckpts), ['best']);
    assert.equal(tensorValue(bestCheckpoint(runDir)!), 8);
  });

  it('on resume: keeps a best at or before the resumed iteration, drops one from an abandoned later branch', () => {
    const runDir = path.join(tmp, 'branch');
    saveBest(runDir, fakeCheckpoint(6, { evaluation: { mean: 60, iteration: 6 } }));
    assert.deepEqual(bestOnResume(runDir, 6), { mean: 60, std: 1, episodes: 3, iteration: 6 });
    assert.equal(bestCheckpoint(runDir), path.join(runDir, 'checkpoints', 'best'));
    assert.equal(bestOnResume(runDir, 4), undefined);
    assert.equal(bestCheckpoint(runDir), undefined);
    assert.deepEqual(fs.readdirSync(path.join(runDir, 'checkpoints')), []);
  });
});

describe('checkpoint.best in the config', () => {
  const base = ['stop.iterations=1'];

  it('is on by default with evaluation during training, off without', () => {
    assert.equal(config([...base, 'evaluation.every=2']).checkpoint.best, true);
    assert.equal(config(base).checkpoint.best, false);
    assert.equal(config([...base, 'evaluation.every=2', 'checkpoint.best=false']).checkpoint.best, false);
  });

  it('without evaluation.every is an error that says to set it', () => {
    assert.throws(
      () => config([...base, 'checkpoint.best=true']),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === '--set checkpoint.best=true: checkpoint.best (true) needs evaluation.every > 0: the best checkpoint is the best-evaluated policy (set evaluation.every, or checkpoint.best: false)',
    );
  });

  it('is named when misspelt, and must be a boolean', () => {
    assert.throws(() => config([...base, 'checkpoint.bset=true']), /checkpoint\.bset is not a known key; did you mean "best"\? \(expected one of: every, everySeconds, keep, best\)/);
    assert.throws(() => config([...base, 'checkpoint.best=7']), /checkpoint\.best \(7\) must be a boolean/);
  });
});
