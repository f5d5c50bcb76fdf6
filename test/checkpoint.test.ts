import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { CHECKPOINT_FORMAT, listCheckpoints, loadCheckpoint, resolveCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { CheckpointError } from '../core/errors';
import { train } from '../src/runtime/learner';
import { PACKAGE_VERSION } from '../src/version';
import { readEvents } from './helpers/tfrecord-reader';
import { cli, rl, root } from './helpers/cli';
import { progress } from './helpers/progress';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ckpt-'));
const quiet = { log: () => {} };
// Small and quick: 4 envs x 64 steps per iteration.
const small = ['workers.envsPerWorker=4', 'workers.rolloutLength=64', 'ppo.minibatchSize=64', 'ppo.numEpochs=2', 'ppo.lrSchedule=constant'];

function config(overrides: string[]) {
  return loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [...small, ...overrides]);
}

describe('Checkpoints', () => {
  it('resumes a run exactly: weights, optimizer and progress after iteration 4 match an uninterrupted run', async () => {
    const straight = await train(config(['stop.iterations=4', 'seed=5']), { runDir: path.join(tmp, 'straight'), ...quiet });
    const first = await train(config(['stop.iterations=2', 'seed=5']), { runDir: path.join(tmp, 'resumed'), ...quiet });
    assert.equal(path.basename(first.checkpoint), 'iter_000002');
    const resumed = await train(config(['stop.iterations=4', 'seed=5']), { resume: first.checkpoint, ...quiet });
    assert.equal(resumed.runDir, path.join(tmp, 'resumed'));
    const a = loadCheckpoint(straight.checkpoint);
    const b = loadCheckpoint(resumed.checkpoint);
    assert.equal(b.metadata.iteration, 4);
    assert.deepEqual(b.algorithm.tensors.map((t) => t.name), a.algorithm.tensors.map((t) => t.name));
    assert.ok(a.algorithm.tensors.some((t) => t.name.startsWith('optimizer/')));
    a.algorithm.tensors.forEach((t, i) => {
      const u = b.algorithm.tensors[i];
      t.data.forEach((v, j) => assert.ok(Math.abs(v - u.data[j]) <= 1e-6 * Math.max(1, Math.abs(v)), `${t.name}[${j}]: ${v} != ${u.data[j]}`));
    });
    const strip = (rows: Record<string, number>[]) => rows.map(({ wallSeconds, envStepsPerSecond, sampleSeconds, updateSeconds, rssMB, heapUsedMB, externalMB, ...r }) => r);
    assert.deepEqual(strip(progress(resumed.runDir)), strip(progress(straight.runDir)));
  });

  it('leaves the previous checkpoint whole when the process is killed (kill -9) while saving', async function () {
    const runDir = path.join(tmp, 'killed');
    const args = ['train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', runDir, '--set', 'checkpoint.every=1', '--set', 'checkpoint.keep=3'];
    for (const o of small) args.push('--set', o);
    // Kill at different moments of a run that saves every iteration; every time, what is on disk must load.
    for (const delayMs of [0, 90, 170, 260]) {
      const resume = fs.existsSync(path.join(runDir, 'checkpoints')) ? ['--resume', runDir] : [];
      const before = listCheckpoints(runDir).length;
      const child = spawn(process.execPath, [cli, ...args, ...resume], { cwd: root, stdio: 'ignore' });
      const start = Date.now();
      while (listCheckpoints(runDir).length <= before && resume.length === 0 && Date.now() - start < 20000) await new Promise((r) => setTimeout(r, 20));
      if (resume.length > 0) await new Promise((r) => setTimeout(r, 1500)); // past start-up, into the saving loop
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const all = listCheckpoints(runDir);
      // keep=3, plus one when the kill fell between the rename and the pruning.
      assert.ok(all.length > 0 && all.length <= 4, `checkpoints: ${all.length}`);
      for (const dir of all) loadCheckpoint(dir); // throws if damaged
    }
    const before = loadCheckpoint(resolveCheckpoint(runDir)).metadata.iteration;
    const r = rl(['train', '--resume', runDir, '--set', `stop.iterations=${before + 2}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`resuming .*iter_${String(before).padStart(6, '0')}: iteration ${before}`));
    const rows = progress(runDir);
    assert.deepEqual(rows.map((p) => p.iteration), Array.from({ length: before + 2 }, (_, i) => i + 1));
  });

  it('refuses a checkpoint of another format version or algorithm, with a clear error', async () => {
    const run = await train(config(['stop.iterations=1']), { runDir: path.join(tmp, 'format'), ...quiet });
    const metaFile = path.join(run.checkpoint, 'metadata.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    fs.writeFileSync(metaFile, JSON.stringify({ ...meta, formatVersion: 99 }));
    assert.throws(() => loadCheckpoint(run.checkpoint), (e: unknown) => e instanceof CheckpointError && e.message === `${run.checkpoint}: checkpoint format 99 (written by rl-zmq ${PACKAGE_VERSION}); this version reads formats up to ${CHECKPOINT_FORMAT} (use the version that wrote it, or a newer one)`);
    fs.writeFileSync(metaFile, JSON.stringify({ ...meta, algorithm: 'dqn', config: { ...meta.config, algorithm: 'dqn' } }));
    assert.throws(() => loadCheckpoint(run.checkpoint, { algorithm: 'ppo' }), { message: `${run.checkpoint}: checkpoint of algorithm "dqn", but the config trains "ppo"` });
    const r = rl(['evaluate', '--checkpoint', path.join(tmp, 'nowhere')]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `error: ${path.join(tmp, 'nowhere')}: no such run dir or checkpoint\n`);
  });

  it('keeps the newest `keep` checkpoints', async () => {
    const run = await train(config(['stop.iterations=5', 'checkpoint.every=1', 'checkpoint.keep=2']), { runDir: path.join(tmp, 'keep'), ...quiet });
    assert.deepEqual(listCheckpoints(run.runDir).map((d) => path.basename(d)), ['iter_000004', 'iter_000005']);
  });

  it('saves a checkpoint and stops cleanly on Ctrl-C (SIGINT)', async () => {
    const runDir = path.join(tmp, 'sigint');
    const child = spawn(process.execPath, [cli, 'train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', runDir, ...small.flatMap((o) => ['--set', o])], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/iter +2 \|/.test(out)) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
    assert.match(out, /done: interrupted\./);
    const ckpt = loadCheckpoint(resolveCheckpoint(runDir));
    assert.equal(ckpt.metadata.iteration, progress(runDir).length);
  });
});

describe('Evaluation', () => {
  it('`rl evaluate --json` scores a checkpoint, the same for the same seed', async () => {
    const run = await train(config(['stop.iterations=3']), { runDir: path.join(tmp, 'eval'), ...quiet });
    const a = rl(['evaluate', '--checkpoint', run.runDir, '--episodes', '7', '--seed', '3', '--json']);
    assert.equal(a.status, 0, a.stderr);
    const r = JSON.parse(a.stdout);
    assert.deepEqual(Object.keys(r), ['episodes', 'returnMean', 'returnStd', 'returnMin', 'returnMax', 'lengthMean']);
    assert.equal(r.episodes, 7);
    assert.ok(r.returnMin <= r.returnMean && r.returnMean <= r.returnMax && r.returnMin >= 1);
    assert.equal(r.lengthMean, r.returnMean); // CartPole: reward 1 per step
    assert.deepEqual(JSON.parse(rl(['evaluate', '--checkpoint', run.checkpoint, '--episodes', '7', '--seed', '3', '--json']).stdout), r);
    // The same checkpoint as the version before policy ids wrote it (format 1: weights under `weights/`, and an
    // epsilon tensor as DQN's was) is read, renamed on load, and plays the same.
    const ckpt = loadCheckpoint(run.checkpoint);
    const v1 = [
      ...ckpt.algorithm.tensors.map((t) => ({ ...t, name: t.name.replace(/^weights\/default\//, 'weights/') })),
      { name: 'weights/exploration/epsilon', shape: [1], data: Float32Array.of(0.05) },
    ];
    assert.ok(v1.some((t) => t.name === 'weights/pi/0/w'), v1.map((t) => t.name).join(', '));
    const old = saveCheckpoint(path.join(tmp, 'eval-format-1'), { metadata: { ...ckpt.metadata, formatVersion: 1 }, algorithm: { ...ckpt.algorithm, tensors: v1 }, runtime: ckpt.runtime }, 1);
    assert.deepEqual(loadCheckpoint(old).algorithm.tensors.map((t) => t.name), ckpt.algorithm.tensors.map((t) => t.name));
    const b = rl(['evaluate', '--checkpoint', old, '--episodes', '7', '--seed', '3', '--json']);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout), r);
    const text = rl(['evaluate', '--checkpoint', run.checkpoint, '--episodes', '4']);
    assert.match(text.stdout, /ppo on CartPole-v1, .*iter_000003 \(iteration 3, 768 env steps\), 4 episodes, deterministic actions:\n {2}return mean [\d.]+ {2}std [\d.]+ {2}min [\d.]+ {2}max [\d.]+\n {2}length mean [\d.]+/);
  });

  it('evaluates during training on its own envs, logs eval metrics, and stops on evalReturnMean reached at two evaluations in a row', async () => {
    const run = await train(config(['stop.iterations=8', 'evaluation.every=2', 'evaluation.episodes=3', 'stop.evalReturnMean=1']), { runDir: path.join(tmp, 'evaltrain'), ...quiet });
    const rows = progress(run.runDir);
    assert.equal(run.iterations, 4); // evaluations at 2 and 4, both >= 1 (a CartPole episode returns >= 1)
    assert.equal(run.stopReason, `evalReturnMean ${rows[1].evalReturnMean.toFixed(1)}, then ${rows[3].evalReturnMean.toFixed(1)} >= 1 (two evaluations in a row)`);
    assert.equal(rows[0].evalReturnMean, undefined);
    assert.equal(rows[2].evalReturnMean, undefined);
    assert.ok(rows[1].evalReturnMean >= 1 && rows[1].evalReturnMin <= rows[1].evalReturnMax);
  });

  it('`rl info` says what a run is', async () => {
    const run = await train(config(['stop.iterations=2']), { runDir: path.join(tmp, 'info'), ...quiet });
    const r = rl(['info', run.runDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^run .*info: ppo on CartPole-v1\n {2}latest checkpoint: .*iter_000002 \(iteration 2, 512 env steps,/);
    assert.match(r.stdout, /iterations logged: 2; episode return mean, last 2: [\d.]+, [\d.]+/);
  });
});

describe('TensorBoard files of a run', () => {
  it('hold every metric of progress.jsonl at its env step, under grouped tags', async () => {
    const run = await train(config(['stop.iterations=3', 'evaluation.every=3', 'evaluation.episodes=2']), { runDir: path.join(tmp, 'tb'), ...quiet });
    const files = fs.readdirSync(run.runDir).filter((f) => f.startsWith('events.out.tfevents.'));
    assert.equal(files.length, 1);
    const events = readEvents(path.join(run.runDir, files[0]));
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    const scalars = events.slice(1);
    const rows = progress(run.runDir);
    assert.equal(scalars.length, rows.length);
    const groups = { episodeReturnMean: 'rollout/', policyLoss: 'train/', approxKl: 'train/', envStepsPerSecond: 'perf/', evalReturnMean: 'eval/' };
    scalars.forEach((e, i) => {
      assert.equal(e.step, rows[i].envSteps);
      const byTag = new Map(e.values.map((v) => [v.tag, v.value]));
      for (const [key, group] of Object.entries(groups)) {
        if (rows[i][key] === undefined || rows[i][key] === null) continue;
        const tag = key === 'evalReturnMean' ? 'eval/returnMean' : `${group}${key}`;
        assert.ok(byTag.has(tag), `iteration ${i + 1}: no ${tag}`);
        assert.equal(byTag.get(tag), Math.fround(rows[i][key]));
      }
    });
    assert.ok(scalars[2].values.some((v) => v.tag === 'eval/returnMean'));
  });
});
