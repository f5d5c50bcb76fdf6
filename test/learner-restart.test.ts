import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCheckpoints, readMetadata } from '../src/checkpoint';
import { freePort } from './helpers/free-port';
import { readEvents } from './helpers/tfrecord-reader';
import { cli, rl, root } from './helpers/cli';
import { progress, progressSoFar } from './helpers/progress';
import { until } from './helpers/until';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-learner-restart-'));

/**
 * Small CartPole PPO: 8 envs x 64 steps per iteration, a checkpoint after every one. APPO (the
 * queue schedule) the same: its workers sample without pause, 512 steps an update and an iteration.
 */
function writeConfig(name: string, iterations: number, algorithm: 'ppo' | 'appo' = 'ppo'): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(
    file,
    [
      `algorithm: ${algorithm}`,
      'env: { id: CartPole-v1 }',
      'seed: 3',
      'model: { hiddenSizes: [32, 32] }',
      'workers: { numWorkers: 0, envsPerWorker: 8, rolloutLength: 64, heartbeatSeconds: 1 }',
      algorithm === 'ppo' ? 'ppo: { numEpochs: 4, minibatchSize: 128 }' : 'appo: { numEpochs: 4, minibatchSize: 128, trainBatchSize: 512, stepsPerIteration: 512 }',
      'checkpoint: { every: 1, keep: 5 }',
      `stop: { iterations: ${iterations} }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Every process a test starts, killed (SIGKILL) in `afterEach` whatever happened. */
const started: ChildProcess[] = [];

/** `node dist/src/cli.js ARGS` in the background, its stdout and stderr gathered. */
function start(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  /** Resolves with the first match of `re` (global) past output offset `from`, or rejects after `ms` (or when the process ends). */
  const waitFor = async (re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> => {
    const end = Date.now() + ms;
    for (;;) {
      re.lastIndex = from;
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} within ${ms} ms (exit ${child.exitCode}) in:\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, out: () => out, exited, waitFor };
}

/** The host pids of the workers a learner logged as joined after output offset `from`. */
function joinedPids(out: string, from = 0): number[] {
  return [...out.slice(from).matchAll(/worker \d+ \(\S+ pid (\d+), \d+ envs\) joined/g)].map((m) => Number(m[1]));
}

describe('A learner restarted by its supervisor (rl train --resume auto)', function () {
  this.timeout(120_000);
  afterEach(async () => {
    for (const p of started.splice(0)) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await new Promise((r) => p.once('exit', r));
      }
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses --resume auto without --run-dir or without --config, naming what it needs', () => {
    const config = writeConfig('flags', 2);
    const a = rl(['train', '--config', config, '--resume', 'auto']);
    assert.equal(a.status, 2);
    assert.equal(a.stderr, 'error: --resume auto needs --run-dir DIR: the run dir to resume, or to start in while it holds no checkpoint\n');
    const b = rl(['train', '--run-dir', path.join(tmp, 'flags'), '--resume', 'auto']);
    assert.equal(b.status, 2);
    assert.equal(b.stderr, 'error: --resume auto needs --config FILE: the run to start while --run-dir holds no checkpoint\n');
    assert.equal(fs.existsSync(path.join(tmp, 'flags')), false);
  });

  it('starts fresh on a new dir, and restarted on the finished run exits 0 at once saying so, writing nothing', () => {
    const config = writeConfig('finish', 2);
    const dir = path.join(tmp, 'finish');
    const args = ['train', '--config', config, '--run-dir', dir, '--resume', 'auto', '--set', 'workers.envsPerWorker=2'];
    const first = rl(args);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^--resume auto: ${dir} holds no checkpoint; starting a fresh run$`, 'm'));
    assert.deepEqual(progress(dir).map((r) => r.iteration), [1, 2]);
    const before = { progress: fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8'), checkpoints: listCheckpoints(dir), files: fs.readdirSync(dir).sort() };
    const again = rl(args);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, `${dir}/checkpoints/iter_000002: the run is finished (iterations 2 >= 2); nothing to train (raise the stop rule with --set stop.<key>=... to go on)\n`);
    assert.equal(fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8'), before.progress);
    assert.deepEqual(listCheckpoints(dir), before.checkpoints);
    assert.deepEqual(fs.readdirSync(dir).sort(), before.files);
    // A longer stop rule goes on from there.
    const longer = rl([...args, '--set', 'stop.iterations=3']);
    assert.equal(longer.status, 0, longer.stderr);
    assert.match(longer.stdout, new RegExp(`^resuming ${dir}/checkpoints/iter_000002: iteration 2, `, 'm'));
    assert.deepEqual(progress(dir).map((r) => r.iteration), [1, 2, 3]);
  });

  it('ends on SIGTERM within seconds when no worker ever came (rl train --bind, numWorkers 0): exit 0, saying there is nothing to save', async () => {
    const dir = path.join(tmp, 'lonely');
    const learner = start(['train', '--config', writeConfig('lonely', 5), '--run-dir', dir, '--bind', `tcp://127.0.0.1:${await freePort()}`]);
    await learner.waitFor(/^listening for workers on tcp:\/\/127\.0\.0\.1:\d+/gm, 30_000);
    const t = Date.now();
    learner.child.kill('SIGTERM');
    assert.equal(await learner.exited, 0, learner.out());
    assert.ok(Date.now() - t < 5000, `exited ${Date.now() - t} ms after SIGTERM`);
    assert.match(learner.out(), /^stopping: no live worker to finish the iteration, so it is given up$/m);
    assert.match(learner.out(), /^nothing trained since the start: no checkpoint to write$/m);
    assert.match(learner.out(), /^done: interrupted\. 0 iterations/m);
    assert.deepEqual(listCheckpoints(dir), []);
  });

  it('ends on SIGTERM within seconds once its only worker is gone mid-iteration: exit 0 and a checkpoint of every finished iteration', async () => {
    const dir = path.join(tmp, 'orphaned');
    const port = await freePort();
    const sets = ['checkpoint.every=1000', 'workers.workerTimeoutSeconds=2'].flatMap((s) => ['--set', s]);
    const learner = start(['train', '--config', writeConfig('orphaned', 1000), '--run-dir', dir, '--bind', `tcp://127.0.0.1:${port}`, ...sets]);
    await learner.waitFor(/^listening for workers on/gm, 30_000);
    const worker = start(['worker', '--connect', `tcp://127.0.0.1:${port}`]);
    await until('2 iterations', () => progressSoFar(dir).length >= 2, { ms: 60_000 });
    worker.child.kill('SIGKILL');
    await worker.exited;
    const t = Date.now();
    learner.child.kill('SIGTERM');
    assert.equal(await learner.exited, 0, learner.out());
    assert.ok(Date.now() - t < 10_000, `exited ${Date.now() - t} ms after SIGTERM`); // the worker timeout (2 s), then the checkpoint
    const iterations = progress(dir).length;
    const checkpoints = listCheckpoints(dir);
    assert.equal(checkpoints.length, 1);
    assert.equal(readMetadata(checkpoints[0]).iteration, iterations);
    assert.match(learner.out(), /^done: interrupted\./m);
  });

  for (const algorithm of ['ppo', 'appo'] as const) {
    it(`resumes after kill -9 from its newest checkpoint; the same two worker processes rejoin and the run ends with iterations 1..N (${algorithm})`, () => killAndResume(algorithm));
  }

  async function killAndResume(algorithm: 'ppo' | 'appo'): Promise<void> {
    const iterations = 40;
    const config = writeConfig(`restart-${algorithm}`, iterations, algorithm);
    const dir = path.join(tmp, `restart-${algorithm}`);
    const port = await freePort();
    const learnerArgs = ['train', '--config', config, '--run-dir', dir, '--resume', 'auto', '--bind', `tcp://127.0.0.1:${port}`];

    const first = start(learnerArgs);
    await first.waitFor(/holds no checkpoint; starting a fresh run/g, 30_000);
    const workers = [start(['worker', '--connect', `tcp://127.0.0.1:${port}`]), start(['worker', '--connect', `tcp://127.0.0.1:${port}`])];
    const workerPids = workers.map((w) => w.child.pid!).sort();
    await until('both workers joined the first learner', () => joinedPids(first.out()).length >= 2, { ms: 40_000 });
    assert.deepEqual(joinedPids(first.out()).sort(), workerPids);
    await until('a checkpoint of iteration >= 3', () => {
      const last = listCheckpoints(dir).at(-1);
      return last !== undefined && Number(path.basename(last).slice('iter_'.length)) >= 3;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const newest = listCheckpoints(dir).at(-1)!;
    const resumedFrom = readMetadata(newest);
    assert.ok(resumedFrom.iteration < iterations, `the first learner finished (${resumedFrom.iteration}) before it was killed`);
    assert.ok(workers.every((w) => w.child.exitCode === null), 'a worker ended with its learner');

    const second = start(learnerArgs);
    const resumed = await second.waitFor(/^resuming (\S+): iteration (\d+), /gm, 30_000);
    assert.equal(resumed[1], newest);
    assert.equal(Number(resumed[2]), resumedFrom.iteration);
    const training = await second.waitFor(new RegExp(`^training ${algorithm} on CartPole-v1`, 'gm'), 30_000);
    // The same processes, within a few heartbeats (1 s): each hears "unknown worker" and says hello again.
    await until('both workers joined the restarted learner', () => joinedPids(second.out(), training.index).length >= 2, { ms: 15_000 });
    assert.deepEqual(joinedPids(second.out()).sort(), workerPids);
    await until('an iteration past the checkpoint with 2 live workers', () => progressSoFar(dir).some((r) => r.iteration > resumedFrom.iteration && r.liveWorkers === 2), { ms: 30_000 });

    assert.equal(await second.exited, 0, second.out().slice(-4000));
    assert.match(second.out(), new RegExp(`^done: iterations ${iterations} >= ${iterations}\\.`, 'm'));
    const rows = progress(dir);
    assert.deepEqual(rows.map((r) => r.iteration), Array.from({ length: iterations }, (_, i) => i + 1), 'no gap and no duplicate');
    assert.equal(rows.at(-1)!.liveWorkers, 2);
    assert.equal(path.basename(listCheckpoints(dir).at(-1)!), `iter_${String(iterations).padStart(6, "0")}`);
    // TensorBoard: the restarted learner's file starts by dropping what the killed one logged past the checkpoint.
    const files = fs.readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'));
    const restarted = files.map((f) => readEvents(path.join(dir, f))).filter((events) => events.some((e) => e.sessionLogStatus === 1));
    assert.equal(restarted.length, 1, `events files: ${files.join(', ')}`);
    const [marker, ...rest] = restarted[0].filter((e) => e.fileVersion === undefined);
    assert.deepEqual({ step: marker.step, status: marker.sessionLogStatus }, { step: resumedFrom.envSteps + 1, status: 1 });
    assert.deepEqual(rest.map((e) => e.step), rows.filter((r) => r.iteration > resumedFrom.iteration).map((r) => r.envSteps));
  }
});
