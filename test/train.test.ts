import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { train } from '../src/runtime/learner';
import { loadConfig } from '../src/config/load';
import { progress as readProgress } from './helpers/progress';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-train-'));

function cartpole(overrides: string[]) {
  return loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), overrides);
}

describe('Training', () => {
  it('learns CartPole: the return rises well above a random policy (~22) in 25k steps', async () => {
    const result = await train(cartpole(['stop.envSteps=25000', 'ppo.lrSchedule=constant']), {
      runDir: path.join(tmp, 'learns'),
      log: () => {},
    });
    const progress = readProgress(result.runDir);
    assert.equal(result.stopReason, 'envSteps 25600 >= 25000');
    assert.ok(progress[0].episodeReturnMean < 40, `first iteration already at ${progress[0].episodeReturnMean}`);
    assert.ok(result.episodeReturnMean > 100, `return mean ${result.episodeReturnMean}`);
  });

  it('is reproducible: the same seed gives the same run', async () => {
    const run = async (name: string) =>
      readProgress((await train(cartpole(['stop.iterations=2', 'seed=11']), { runDir: path.join(tmp, name), log: () => {} })).runDir).map(
        ({ wallSeconds, envStepsPerSecond, sampleSeconds, updateSeconds, rssMB, heapUsedMB, externalMB, ...rest }) => rest,
      );
    const a = await run('same-a');
    const b = await run('same-b');
    assert.deepEqual(a, b);
    assert.ok(a[1].episodes > 0);
  });

  it('`rl train` runs as a process and leaves a run dir with config.yaml and progress.jsonl', () => {
    const runDir = path.join(tmp, 'cli');
    const r = spawnSync(process.execPath, [cli, 'train', '--config', 'configs/ppo-cartpole.yaml', '--set', 'stop.envSteps=3000', '--run-dir', runDir, '--seed', '4'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /tfjs backend: wasm/);
    assert.match(r.stdout, /iter +1 \| steps +1,024 +34% \|/);
    assert.match(r.stdout, /done: envSteps 3072 >= 3000\. 3 iterations, 3,072 env steps/);
    const progress = readProgress(runDir);
    assert.equal(progress.length, 3);
    progress.forEach((p, i) => {
      assert.equal(p.iteration, i + 1);
      assert.equal(p.envSteps, 1024 * (i + 1));
      for (const k of ['wallSeconds', 'episodeReturnMean', 'episodeLenMean', 'episodes', 'envStepsPerSecond', 'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'explainedVariance', 'learningRate', 'rssMB', 'heapUsedMB', 'externalMB', 'numTensors']) {
        assert.equal(typeof p[k], 'number', `${k} in iteration ${i + 1}`);
      }
    });
    const resolved = parseYaml(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8'));
    assert.equal(resolved.seed, 4);
    assert.equal(resolved.ppo.numEpochs, 10);
    assert.equal(resolved.stop.envSteps, 3000);
  });

  it('`rl train` with a misspelt key prints one line and exits 2, before anything starts', () => {
    const runDir = path.join(tmp, 'bad');
    const r = spawnSync(process.execPath, [cli, 'train', '--config', 'configs/ppo-cartpole.yaml', '--set', 'ppo.gama=0.9', '--run-dir', runDir], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'error: --set ppo.gama=0.9: ppo.gama is not a known key; did you mean "gamma"? (expected one of: lr, lrSchedule, gamma, gaeLambda, clipRange, clipRangeVf, entCoef, vfCoef, maxGradNorm, numEpochs, minibatchSize, trainBatchSize, normalizeAdvantages, initLogStd, maxPolicyLag, sequenceLength, gradientPath)\n');
    assert.equal(fs.existsSync(runDir), false);
  });

  it('`rl envs` lists CartPole-v1 with its spaces and threshold', () => {
    const r = spawnSync(process.execPath, [cli, 'envs'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /CartPole-v1 +obs Box\(shape=\[4\]\) +actions Discrete\(2\) +max steps 500 +solved at 475/);
  });
});
