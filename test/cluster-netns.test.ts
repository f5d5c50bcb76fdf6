import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateKeys, keyFingerprint, readKeyPair } from '../src/transport/curve';
import { type HostProcess, Hosts, netnsProblem, removeLeftovers } from './helpers/netns';
import { progressSoFar } from './helpers/progress';
import { until as poll } from './helpers/until';

/**
 * The cluster path across hosts, not just processes: a learner host and two worker hosts,
 * each its own network namespace on one switch (10.x addresses, so binds are not loopback and
 * CURVE is on by default). The worker hosts run `rl worker` with the learner's project dir
 * hidden under an empty tmpfs: the env exists only on the learner, which ships it.
 *
 * One cast of worker processes serves two runs: run 1 trains the shipped env to its threshold
 * (and a worker with a key not allowed, and one without --accept-code, are refused); run 2 is
 * `--resume auto` with a long stop rule, during which a worker host's cable is pulled and put
 * back, and the learner is killed -9 and started again with the same command.
 *
 * Timing is never asserted: every wait is for a log line or a progress record, with a
 * generous deadline, and a timeout's message carries the tail of every process's output.
 */

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const PORT = 5555; // each host has a network stack of its own: nothing else binds there
const THRESHOLD = 0.9;

/** A joined line of the learner's: `worker 3 (w1 pid 1234, 8 envs) joined; 2 live`. */
const JOINED = /^worker (\d+) \((\S+) pid (\d+), (\d+) envs\) joined; (\d+) live$/gm;

interface Joined {
  id: number;
  host: string;
  pid: number;
  live: number;
}

function joinedLines(p: HostProcess): Joined[] {
  return [...p.output().matchAll(JOINED)].map((m) => ({ id: Number(m[1]), host: m[2], pid: Number(m[3]), live: Number(m[5]) }));
}

/** The learner's last line about the worker on `host` with `pid`, or ''. */
function lastLineAbout(learner: HostProcess, host: string, pid: number): string {
  return learner.output().split('\n').filter((l) => l.includes(`(${host} pid ${pid}, `)).pop() ?? '';
}

/** Polls `check` until it returns something other than undefined; past `ms`, fails with `what` and every process's output. */
function until<T>(hosts: Hosts, what: string, check: () => T | undefined, ms = 60_000): Promise<T> {
  return poll(what, check, { ms, every: 100, context: () => `the processes' output:\n${hosts.tails()}` });
}

/** The learner's project: a TypeScript env with a local import and an import of the framework, and its configs. */
function writeProject(dir: string): void {
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'rl-zmq')); // as `npm install rl-zmq` would have it
  fs.writeFileSync(
    path.join(dir, 'helper.ts'),
    `/** The corridor's payoffs: a local import, which the shipped bundle must carry. */
export const GOAL_REWARD = 1;
export const STEP_COST = 0.01;

export function clamp(position: number, length: number): number {
  return Math.max(0, Math.min(length, position));
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'corridor.ts'),
    `import { Box, Discrete, Rng, type Env, type ResetOptions, type StepResult } from 'rl-zmq';
import { clamp, GOAL_REWARD, STEP_COST } from './helper';

/** A 1-D corridor: walk left (0) or right (1); the right end pays GOAL_REWARD, each step costs STEP_COST. */
export class Corridor implements Env {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace = new Box(0, 1, [1]);
  private readonly length: number;
  private rng = new Rng(0);
  private position = 0;
  private steps = 0;

  constructor(config: { length?: number } = {}) {
    this.length = config.length ?? 10;
  }

  reset(opts: ResetOptions = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.position = Math.floor(this.length / 2) + this.rng.int(2);
    this.steps = 0;
    return { obs: this.observe(), info: {} };
  }

  step(action: number | Float32Array): StepResult {
    this.position = clamp(this.position + (action === 1 ? 1 : -1), this.length);
    this.steps += 1;
    const terminated = this.position >= this.length;
    return { obs: this.observe(), reward: terminated ? GOAL_REWARD : -STEP_COST, terminated, truncated: this.steps >= 50 && !terminated, info: {} };
  }

  close(): void {}

  private observe(): Float32Array {
    return Float32Array.of(this.position / this.length);
  }
}
`,
  );
  const common = `algorithm: ppo
env: { module: ./corridor.ts, export: Corridor, config: { length: 10 } }
workers: { numWorkers: 0, envsPerWorker: 8, rolloutLength: 64, heartbeatSeconds: 0.5, workerTimeoutSeconds: 3 }
model: { hiddenSizes: [32, 32] }
ppo: { lr: 0.003, numEpochs: 4, minibatchSize: 128, gamma: 0.99 }
`;
  // run 1 stops at its threshold (the best return is 1 - 0.01 * 4 = 0.96); run 2 runs until the test stops it
  fs.writeFileSync(path.join(dir, 'solve.yaml'), `${common}stop: { episodeReturnMean: ${THRESHOLD}, envSteps: 100000 }\n`);
  fs.writeFileSync(path.join(dir, 'long.yaml'), `${common}stop: { iterations: 100000, wallSeconds: 600 }\ncheckpoint: { every: 5 }\n`);
}

describe('A cluster of three namespace hosts (learner, w1, w2) on one switch, the env only on the learner', function () {
  let hosts: Hosts | undefined;
  let tmp = '';
  let project = '';
  let keys = '';
  let learnerArgs: (config: string, runDir: string) => string[];
  /** The command a supervisor restarts: fresh where the run dir has no checkpoint, else resumed from its newest. */
  const resumeArgs = (runDir: string) => [...learnerArgs('long.yaml', runDir), '--resume', 'auto'];
  const workers: Record<string, HostProcess> = {};
  let learner: HostProcess | undefined;

  /** `rl worker` on `host` as `name`, with the project dir hidden and the env file's absence reported first. */
  function startWorker(host: string, name: string, extra: string[]): HostProcess {
    const home = path.join(tmp, name);
    fs.mkdirSync(home, { recursive: true });
    const argv = [process.execPath, cli, 'worker', '--connect', `tcp://${hosts!.address('learner')}:${PORT}`, '--keys', path.join(keys, name), '--learner-key', path.join(keys, 'learner', 'public.key'), ...extra];
    return hosts!.exec(host, argv, { hideDirs: [project], reportAbsent: [path.join(project, 'corridor.ts')], cwd: home, label: `${host}: rl worker ${name}` });
  }

  before(function () {
    this.timeout(30_000);
    const prefix = `rlt-${process.pid}`;
    const problem = netnsProblem(`${prefix}-probe`);
    if (problem) {
      console.log(`      skipped: ${problem}`);
      this.skip();
    }
    const leftovers = removeLeftovers('rlt');
    if (leftovers.length > 0) console.log(`      removed namespaces left by an earlier run: ${leftovers.join(', ')}`);
    hosts = Hosts.create(prefix, ['learner', 'w1', 'w2']);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlt-'));
    project = path.join(tmp, 'project');
    keys = path.join(tmp, 'keys');
    writeProject(project);
    fs.mkdirSync(path.join(keys, 'allowed'), { recursive: true });
    generateKeys(path.join(keys, 'learner'));
    for (const name of ['good1', 'good2', 'noflag', 'stranger']) {
      const pair = generateKeys(path.join(keys, name));
      if (name !== 'stranger') fs.writeFileSync(path.join(keys, 'allowed', `${name}.key`), `${pair.publicKey}\n`);
    }
    const bind = `tcp://${hosts.address('learner')}:${PORT}`;
    learnerArgs = (config, runDir) => [process.execPath, cli, 'train', '--config', path.join(project, config), '--bind', bind, '--keys', path.join(keys, 'learner'), '--allowed-keys', path.join(keys, 'allowed'), '--run-dir', runDir];
    // The workers start first and wait for a learner, as long-lived workers do.
    const accept = (name: string) => ['--accept-code', '--cache-dir', path.join(tmp, name, 'cache')];
    workers.good1 = startWorker('w1', 'good1', accept('good1'));
    workers.good2 = startWorker('w2', 'good2', accept('good2'));
    workers.stranger = startWorker('w1', 'stranger', accept('stranger'));
    workers.noflag = startWorker('w2', 'noflag', []);
  });

  after(async function () {
    this.timeout(30_000);
    if (process.env.DEBUG_TEST && hosts) console.log(hosts.tails(400));
    await hosts?.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('hides the env file from every worker process (its own mount namespace with a tmpfs over the project dir)', async function () {
    this.timeout(30_000);
    const file = path.join(project, 'corridor.ts');
    assert.ok(fs.existsSync(file), 'the learner side has the file');
    for (const w of Object.values(workers)) {
      await until(hosts!, `${w.label} to report the env file's absence`, () => (/^netns: (absent|present) /m.test(w.output()) ? true : undefined));
      assert.match(w.output(), new RegExp(`^netns: absent ${file}$`, 'm'), w.tail());
    }
  });

  it('ships the custom env to both worker hosts, each naming its code sha256, and trains it there to its threshold', async function () {
    this.timeout(150_000);
    learner = hosts!.exec('learner', learnerArgs('solve.yaml', path.join(tmp, 'run1')), { cwd: project, label: 'learner: rl train solve.yaml' });
    const code = await until(hosts!, 'run 1 to end', () => (learner!.running ? undefined : learner!.exitCode()), 120_000);
    assert.equal(code, 0, hosts!.tails());
    const rows = progressSoFar(path.join(tmp, 'run1'));
    const last = rows[rows.length - 1];
    assert.ok(last.episodeReturnMean >= THRESHOLD, `final return ${last.episodeReturnMean} < ${THRESHOLD}\n${learner.tail()}`);
    assert.match(learner.output(), new RegExp(`^done: episodeReturnMean .* >= ${THRESHOLD}\\.`, 'm'), learner.tail());
    const bundled = /^env code for remote workers: corridor\.ts bundled, .* sha256 ([0-9a-f]{12}) /m.exec(learner.output());
    assert.ok(bundled, learner.tail());
    const sha = bundled[1];
    // A sample request that came while a worker fetched the code was answered: no worker was dropped as silent.
    assert.ok(!/ did not answer a sample request /.test(learner.output()), learner.tail());
    const fingerprint = keyFingerprint(readKeyPair(path.join(keys, 'learner')).publicKey).replace(/[+/]/g, '\\$&');
    const joined = joinedLines(learner);
    for (const [name, host] of [['good1', 'w1'], ['good2', 'w2']]) {
      const w = workers[name];
      assert.ok(joined.some((j) => j.pid === w.pid && j.host === host), `${name} (pid ${w.pid} on ${host}) never joined:\n${learner.tail()}`);
      // its one line for the run: learner key fingerprint, env, code sha256, envs
      const line = new RegExp(
        `^worker \\d+: joined a run of the learner at tcp://${hosts!.address('learner').replace(/\./g, '\\.')}:${PORT} \\(learner key ${fingerprint}\\): ` +
          `env ${project}/corridor\\.ts:Corridor, code sha256 ${sha} \\(shipped, received\\), 8 envs x 64 steps per batch$`,
        'm',
      );
      assert.match(w.output(), line, w.tail());
      // and the code is in its cache under its full sha256, which the learner's short one begins
      const cached = fs.readdirSync(path.join(tmp, name, 'cache')).filter((f) => /^[0-9a-f]{64}\.js$/.test(f));
      assert.deepEqual(cached.map((f) => f.slice(0, 12)), [sha], `${name}'s cache: ${cached.join(', ')}`);
    }
  });

  it('gives a worker whose key is not in --allowed-keys nothing: never listed joined, and it says it was refused', async function () {
    this.timeout(30_000);
    const w = workers.stranger;
    assert.ok(!joinedLines(learner!).some((j) => j.pid === w.pid), learner!.tail());
    await until(hosts!, 'the stranger to stop', () => (w.running ? undefined : true), 20_000);
    assert.equal(w.exitCode(), 3, w.tail());
    assert.match(w.output(), /refused this worker's key \(not in its --allowed-keys\)/, w.tail());
    // and the learner saw the refused key come from w1's address: across hosts, not from loopback
    assert.match(learner!.output(), new RegExp(`^ZAP: refused CURVE key \\S+ from ${hosts!.address('w1').replace(/\./g, '\\.')} `, 'm'), learner!.tail());
  });

  it('has a worker without --accept-code refuse with one line naming the flag, which the learner shows once, and exit 4', async function () {
    this.timeout(30_000);
    const w = workers.noflag;
    await until(hosts!, 'the worker without --accept-code to stop', () => (w.running ? undefined : true), 20_000);
    assert.equal(w.exitCode(), 4, w.tail());
    const refusals = w.output().split('\n').filter((l) => l.includes('refusing'));
    assert.equal(refusals.length, 1, w.tail());
    assert.match(refusals[0], /^worker: refusing the learner's run: the learner ships its env code \(corridor\.ts, sha256 [0-9a-f]{12}\); this worker runs shipped code only when started with --accept-code$/);
    const shown = learner!.output().split('\n').filter((l) => l.includes(`pid ${w.pid}, `) && l.includes(' refuses to run this run: '));
    assert.equal(shown.length, 1, `the learner does not show the reason once:\n${learner!.tail()}`);
    assert.match(shown[0], /the learner ships its env code .* only when started with --accept-code \(shown once; the run goes on with the other workers\)$/);
  });

  it("drops a worker host whose cable is out past workerTimeoutSeconds, trains on with one, and takes it back by itself once it is in", async function () {
    this.timeout(150_000);
    const runDir = path.join(tmp, 'run2');
    learner = hosts!.exec('learner', resumeArgs(runDir), { cwd: project, label: 'learner: rl train long.yaml' });
    const w2 = workers.good2;
    await until(hosts!, 'run 2 to have an iteration with both workers', () => progressSoFar(runDir).find((r) => r.liveWorkers === 2), 90_000);
    assert.doesNotMatch(learner.output(), /^resuming /m, 'a run dir without a checkpoint starts fresh');
    // pulled while w2 is a member (the learner's last word on it is that it joined)
    await until(hosts!, 'w2 to be a member', () => (/ joined; \d+ live$/.test(lastLineAbout(learner!, 'w2', w2.pid)) ? true : undefined));
    const cut = learner.output().length; // what the learner says from here on
    const since = () => learner!.output().slice(cut);
    hosts!.link('w2', 'down');
    try {
      // any reason but a goodbye: `worker 1 (w2 pid 1063, 8 envs) sent nothing for 3 s; 1 live`
      const drop = new RegExp(`^worker \\d+ \\(w2 pid ${w2.pid}, \\d+ envs\\) (?!left;|joined;).*; \\d+ live$`, 'm');
      await until(hosts!, 'the learner to drop w2', () => (drop.test(since()) ? true : undefined));
      const dropped = progressSoFar(runDir).length;
      await until(hosts!, 'an iteration with one live worker after the drop', () => progressSoFar(runDir).slice(dropped).find((r) => r.liveWorkers === 1));
    } finally {
      hosts!.link('w2', 'up');
    }
    const rejoin = new RegExp(`^worker \\d+ \\(w2 pid ${w2.pid}, \\d+ envs\\) joined; \\d+ live$`, 'm');
    await until(hosts!, 'w2 to join again', () => (rejoin.test(since()) ? true : undefined));
    const back = progressSoFar(runDir).length;
    await until(hosts!, 'an iteration with both workers after the rejoin', () => progressSoFar(runDir).slice(back).find((r) => r.liveWorkers === 2));
    assert.ok(w2.running, 'the w2 worker process exited');
  });

  it('after kill -9 of the learner, the same command gets the same worker processes (same pids) back, and they contribute again', async function () {
    this.timeout(150_000);
    const runDir = path.join(tmp, 'run2');
    const checkpoints = path.join(runDir, 'checkpoints');
    await until(hosts!, 'a checkpoint of run 2', () => (fs.existsSync(checkpoints) && fs.readdirSync(checkpoints).some((d) => /^iter_\d+$/.test(d)) ? true : undefined));
    const pids = [workers.good1.pid, workers.good2.pid];
    for (const pid of pids) assert.ok(joinedLines(learner!).some((j) => j.pid === pid), `pid ${pid} is not one the learner listed joined:\n${learner!.tail()}`);
    learner!.kill('SIGKILL');
    await learner!.exited();
    learner = hosts!.exec('learner', resumeArgs(runDir), { cwd: project, label: 'learner: rl train long.yaml (after kill -9)' });
    const from = await until(hosts!, 'the restarted learner to resume', () => {
      const m = /^resuming \S+: iteration (\d+),/m.exec(learner!.output());
      return m ? Number(m[1]) : undefined;
    }, 90_000);
    for (const pid of pids) await until(hosts!, `worker pid ${pid} to join the restarted learner`, () => (joinedLines(learner!).some((j) => j.pid === pid) ? true : undefined));
    // progress.jsonl was cut back to the checkpoint's iteration when the learner resumed: a later record is the new learner's
    await until(hosts!, 'an iteration of the restarted learner with both workers', () => progressSoFar(runDir).find((r) => r.iteration > from && r.liveWorkers === 2));
    for (const w of [workers.good1, workers.good2]) assert.ok(w.running, `${w.label} exited:\n${w.tail()}`);
    const iterations = progressSoFar(runDir).map((r) => r.iteration);
    assert.deepEqual(iterations, iterations.map((_, i) => i + 1), 'progress.jsonl has a missing or duplicated iteration');
    learner!.kill('SIGTERM');
    await learner!.exited();
  });
});
