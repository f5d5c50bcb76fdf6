import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './helpers/free-port';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { generateKeys, keyFingerprint, readAllowedKeys, readKeyPair } from '../src/transport/curve';
import { exited, root, startWorker } from './helpers/cli';
import { progress } from './helpers/progress';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-shipped-')));
const project = path.join(tmp, 'project');
const elsewhere = path.join(tmp, 'worker-home'); // the worker's working directory: no project there
fs.mkdirSync(elsewhere, { recursive: true });

/**
 * The learner's project: an env module with a local import and an import of this package
 * (resolved through node_modules/rl-zmq, as in a user's project). `reward` goes into the
 * helper, so editing it changes the bundle.
 */
function writeProject(reward: number): void {
  fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  if (!fs.existsSync(path.join(project, 'node_modules', 'rl-zmq'))) fs.symlinkSync(root, path.join(project, 'node_modules', 'rl-zmq'));
  fs.writeFileSync(path.join(project, 'reward.ts'), `export const reward = (action: number) => (action === 1 ? ${reward} : 0);\n`);
  fs.writeFileSync(
    path.join(project, 'walk.ts'),
    `import { Box, Discrete, Rng } from 'rl-zmq';
import { reward } from './reward';
export class Walk {
  actionSpace = new Discrete(2);
  observationSpace = new Box(-1, 1, [2]);
  private t = 0;
  private rng = new Rng(0);
  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.t = 0;
    return { obs: Float32Array.of(this.rng.uniform(-0.5, 0.5), 0), info: {} };
  }
  step(action: number) {
    this.t += 1;
    return { obs: Float32Array.of(0, this.t / 10), reward: reward(action), terminated: this.t >= 10, truncated: false, info: {} };
  }
  close() {}
}
`,
  );
}

function config(iterations: number) {
  return loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [
    `env.id=${path.join(project, 'walk.ts')}:Walk`, 'workers.numWorkers=0', 'workers.envsPerWorker=2', 'workers.rolloutLength=32',
    'ppo.minibatchSize=32', 'ppo.numEpochs=1', 'workers.heartbeatSeconds=0.5', `stop.iterations=${iterations}`, 'evaluation.every=0',
  ]);
}

describe('Env code shipped to workers', function () {
  this.timeout(120_000);
  const learnerKeys = path.join(tmp, 'keys', 'learner');
  const workerKeys = path.join(tmp, 'keys', 'worker');
  const allowed = path.join(tmp, 'keys', 'allowed');
  const workers: ChildProcess[] = [];

  before(() => {
    generateKeys(learnerKeys);
    generateKeys(workerKeys);
    fs.mkdirSync(allowed, { recursive: true });
    fs.copyFileSync(path.join(workerKeys, 'public.key'), path.join(allowed, 'worker.key'));
  });

  after(() => {
    for (const w of workers) w.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const curve = () => ({ pair: readKeyPair(learnerKeys), allowed: readAllowedKeys(allowed) });
  const workerArgs = (port: number, extra: string[]) => ['--connect', `tcp://127.0.0.1:${port}`, '--keys', workerKeys, '--learner-key', path.join(learnerKeys, 'public.key'), ...extra];

  it('runs run after run on one long-lived worker with --accept-code: new code after an edit, the cached one when unchanged', async () => {
    const port = await freePort();
    const cache = path.join(tmp, 'cache');
    const w = startWorker(workerArgs(port, ['--accept-code', '--cache-dir', cache]), { cwd: elsewhere });
    workers.push(w.child);
    const shas: string[] = [];
    for (const [i, reward] of [1, 2, 2].entries()) {
      writeProject(reward);
      const lines: string[] = [];
      const run = await train(config(2), { runDir: path.join(tmp, `run-${i}`), bind: `tcp://127.0.0.1:${port}`, curve: curve(), log: (l) => lines.push(l) });
      const bundled = lines.find((l) => l.startsWith('env code for remote workers: walk.ts bundled'));
      assert.ok(bundled, lines.join('\n'));
      // A request that came while the worker fetched the code is answered, not lost (the worker is never dropped as silent).
      assert.ok(!lines.some((l) => / did not answer a sample request /.test(l)), lines.join('\n'));
      shas.push(/sha256 ([0-9a-f]{12})/.exec(bundled)![1]);
      const rows = progress(run.runDir);
      assert.equal(rows.length, 2);
      assert.equal(rows[1].liveWorkers, 1);
      // Each step pays `reward` for action 1: a mean return above 10 * reward / 4 shows the edited code ran (random play gets 5 * reward).
      assert.ok(rows[1].episodeReturnMean > 2.5 * reward, `run ${i}: return ${rows[1].episodeReturnMean}`);
    }
    assert.notEqual(shas[0], shas[1]);
    assert.equal(shas[1], shas[2]);
    const fingerprint = keyFingerprint(readKeyPair(learnerKeys).publicKey);
    const joins = w.out().split('\n').filter((l) => l.includes('joined a run'));
    assert.equal(joins.length, 3, w.out());
    const how = joins.map((l) => {
      const m = new RegExp(`^worker \\d+: joined a run of the learner at tcp://127\\.0\\.0\\.1:${port} \\(learner key ${fingerprint.replace(/[+/]/g, '\\$&')}\\): env ${project}/walk\\.ts:Walk, code sha256 ([0-9a-f]{12}) \\(shipped, (received|cached)\\), 2 envs x 32 steps per batch$`).exec(l);
      assert.ok(m, l);
      return `${m[1]} ${m[2]}`;
    });
    assert.deepEqual(how, [`${shas[0]} received`, `${shas[1]} received`, `${shas[1]} cached`]);
    assert.equal(fs.readdirSync(cache).filter((f) => f.endsWith('.js')).length, 2);
    assert.equal(w.child.exitCode, null); // still serving
    w.child.kill('SIGTERM');
    await exited(w.child);
  });

  it('refuses shipped code without --accept-code in one line, which the learner shows once, and the run goes on', async () => {
    writeProject(1);
    const port = await freePort();
    // The refusing worker goes first and the accepting one joins only after it has left: a run
    // with --bind samples only through its workers, so it waits, and cannot finish (leaving the
    // refusing worker knocking at a closed door) before that worker has been answered.
    const plain = startWorker(workerArgs(port, []), { cwd: elsewhere });
    workers.push(plain.child);
    const lines: string[] = [];
    const running = train(config(3), { runDir: path.join(tmp, 'refused'), bind: `tcp://127.0.0.1:${port}`, curve: curve(), log: (l) => lines.push(l) });
    assert.equal(await exited(plain.child), 4, plain.out());
    const good = startWorker(workerArgs(port, ['--accept-code', '--cache-dir', path.join(tmp, 'cache-2')]), { cwd: elsewhere });
    workers.push(good.child);
    const run = await running;
    const said = plain.out().trim().split('\n').filter((l) => l.includes('refusing'));
    assert.equal(said.length, 1, plain.out());
    assert.match(said[0], /^worker: refusing the learner's run: the learner ships its env code \(walk\.ts, sha256 [0-9a-f]{12}\); this worker runs shipped code only when started with --accept-code$/);
    assert.equal(lines.filter((l) => / refuses to run this run: the learner ships its env code .* only when started with --accept-code \(shown once; the run goes on with the other workers\)$/.test(l)).length, 1, lines.join('\n'));
    const rows = progress(run.runDir);
    assert.equal(rows.length, 3);
    assert.equal(rows[2].liveWorkers, 1);
    good.child.kill('SIGTERM');
    await exited(good.child);
  });
});
