import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateKeys } from '../src/transport/curve';
import { listCheckpoints } from '../src/checkpoint';
import type { TrialRecord } from '../src/tune/results';
import { type HostProcess, Hosts, netnsProblem, removeLeftovers } from './helpers/netns';
import { progressSoFar } from './helpers/progress';
import { until as poll } from './helpers/until';

/**
 * `rl tune --bind` across hosts: a tuner host and two agent hosts, each its own network
 * namespace on one switch (10.x addresses: CURVE on by default). Three tiny trials of an env
 * that is code on the tuner's host only (the agents' hosts have the project dir hidden under an
 * empty tmpfs: the tuner ships it), none on the tuner's machine (--concurrency 0), on two
 * `rl tune-agent --accept-code`s of one slot each; an agent whose key is not allowed gets
 * nothing, nor does one without --accept-code. Mid-trial, the first agent is killed -9
 * with its trials' processes (a machine gone): the tuner, hearing nothing for --agent-timeout,
 * sends that trial to the other agent with the checkpoint it holds of it, where it finishes.
 *
 * Timing is never asserted: every wait is for a log line, a file or a process's end, with a
 * generous deadline, and a timeout's message carries the tail of every process's output.
 */

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const PORT = 5600;
const ITERATIONS = 24; // 256 env steps each
const TRIAL = `algorithm: ppo
env: { module: ./corridor.ts, export: Corridor }
workers: { envsPerWorker: 4, rolloutLength: 64 }
ppo: { numEpochs: 2, minibatchSize: 64 }
checkpoint: { every: 1, everySeconds: 0 }
stop: { envSteps: ${ITERATIONS * 256} }
`;

/** The tuner's env, code of its own that exists only on the tuner's host: a 1-D corridor, the right end pays 1. */
const CORRIDOR = `import { Box, Discrete, type Env, type StepResult } from 'rl-zmq';

export class Corridor implements Env {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace = new Box(0, 1, [1]);
  private position = 5;
  private steps = 0;

  reset() {
    this.position = 5;
    this.steps = 0;
    return { obs: Float32Array.of(this.position / 10), info: {} };
  }

  step(action: number | Float32Array): StepResult {
    this.position += action === 1 ? 1 : -1;
    this.steps += 1;
    const terminated = this.position >= 10 || this.position <= 0;
    return { obs: Float32Array.of(this.position / 10), reward: this.position >= 10 ? 1 : -0.01, terminated, truncated: this.steps >= 50 && !terminated, info: {} };
  }

  close(): void {}
}
`;

/** A trial started on an agent, from the tuner's line `trial t000-s0 started on agent good1 (pid 123): ...`. */
const STARTED = /^trial (\S+) started on agent (\S+) \(pid \d+\)/gm;

describe('rl tune across three namespace hosts (tuner, a1, a2): trials on remote agents, one agent killed -9 mid-trial', function () {
  let hosts: Hosts | undefined;
  let tmp = '';
  let keys = '';
  let project = '';
  const agents: Record<string, HostProcess> = {};
  let tuner: HostProcess | undefined;
  const sweep = () => path.join(tmp, 'sweep');

  function until<T>(what: string, check: () => T | undefined | false, ms = 60_000): Promise<T> {
    return poll(what, check, { ms, every: 100, context: () => `the processes' output:\n${hosts!.tails()}` });
  }

  function startAgent(host: string, name: string, extra: string[]): HostProcess {
    const argv = [process.execPath, cli, 'tune-agent', '--connect', `tcp://${hosts!.address('tuner')}:${PORT}`, '--name', name, '--slots', '1', ...extra];
    argv.push('--keys', path.join(keys, name), '--tuner-key', path.join(keys, 'tuner', 'public.key'), '--work-dir', path.join(tmp, name));
    return hosts!.exec(host, argv, { cwd: tmp, hideDirs: [project], reportAbsent: [path.join(project, 'corridor.ts')], label: `${host}: rl tune-agent ${name}` });
  }

  before(function () {
    this.timeout(30_000);
    const prefix = `rlta-${process.pid}`;
    const problem = netnsProblem(`${prefix}-probe`);
    if (problem) {
      console.log(`      skipped: ${problem}`);
      this.skip();
    }
    const leftovers = removeLeftovers('rlta');
    if (leftovers.length > 0) console.log(`      removed namespaces left by an earlier run: ${leftovers.join(', ')}`);
    hosts = Hosts.create(prefix, ['tuner', 'a1', 'a2']);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlta-'));
    keys = path.join(tmp, 'keys');
    project = path.join(tmp, 'project');
    fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
    fs.symlinkSync(root, path.join(project, 'node_modules', 'rl-zmq')); // as `npm install rl-zmq` would have it
    fs.writeFileSync(path.join(project, 'corridor.ts'), CORRIDOR);
    fs.mkdirSync(path.join(keys, 'allowed'), { recursive: true });
    generateKeys(path.join(keys, 'tuner'));
    for (const name of ['good1', 'good2', 'noflag', 'stranger']) {
      const pair = generateKeys(path.join(keys, name));
      if (name !== 'stranger') fs.writeFileSync(path.join(keys, 'allowed', `${name}.key`), `${pair.publicKey}\n`);
    }
    fs.writeFileSync(path.join(project, 'trial.yaml'), TRIAL);
    fs.writeFileSync(path.join(project, 'tune.yaml'), ['base: trial.yaml', 'space: { ppo.lr: { grid: [0.001, 0.002, 0.003] } }', 'budget: { trials: 3 }'].join('\n'));
    // The agents start first and wait for a tuner, as long-lived agents do.
    agents.good1 = startAgent('a1', 'good1', ['--accept-code']);
    agents.good2 = startAgent('a2', 'good2', ['--accept-code']);
    agents.stranger = startAgent('a1', 'stranger', ['--accept-code']);
    agents.noflag = startAgent('a2', 'noflag', []);
  });

  after(async function () {
    this.timeout(30_000);
    if (process.env.DEBUG_TEST && hosts) console.log(hosts.tails(400));
    await hosts?.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sends trials to the two allowed agents, and the killed agent\'s trial finishes on the other from its last checkpoint', async function () {
    this.timeout(240_000);
    for (const a of Object.values(agents)) {
      await until(`${a.label} to report the env file's absence`, () => /^netns: (absent|present) /m.test(a.output()));
      assert.match(a.output(), new RegExp(`^netns: absent ${path.join(project, 'corridor.ts')}$`, 'm'), a.tail());
    }
    const argv = [process.execPath, cli, 'tune', '--config', path.join(project, 'tune.yaml'), '--sweep-dir', sweep(), '--concurrency', '0', '--agent-timeout', '3'];
    argv.push('--bind', `tcp://${hosts!.address('tuner')}:${PORT}`, '--keys', path.join(keys, 'tuner'), '--allowed-keys', path.join(keys, 'allowed'));
    tuner = hosts!.exec('tuner', argv, { cwd: project, label: 'tuner: rl tune' });
    // The trial on good1, once the tuner holds a checkpoint of it and a few iterations of progress.
    const victim = await until('a trial on good1 with a checkpoint in the sweep dir', () => {
      const started = [...tuner!.output().matchAll(STARTED)].find((m) => m[2] === 'good1');
      if (!started) return undefined;
      const runDir = path.join(sweep(), 'trials', started[1]);
      const rows = progressSoFar(runDir);
      return listCheckpoints(runDir).length > 0 && rows.length >= 3 ? started[1] : undefined;
    });
    const before = listCheckpoints(path.join(sweep(), 'trials', victim)).pop()!;
    agents.good1.kill('SIGKILL'); // the agent and its rl train: the machine is gone
    const code = await until('the sweep to end', () => (tuner!.running ? undefined : tuner!.exitCode()), 200_000);
    assert.equal(code, 0, hosts!.tails());
    assert.match(tuner.output(), /^env code for trial agents: corridor\.ts bundled, /m, tuner.tail());
    assert.match(tuner.output(), /^agent noflag \(pid \d+\) joined: 1 slot\(s\); it gets no trial: the env is code \(corridor\.ts\)/m, tuner.tail());
    assert.doesNotMatch(agents.noflag.output(), /trial \S+ started/, agents.noflag.tail());
    assert.match(tuner.output(), /^agent good1 \(pid \d+\) lost: silent for 3 s; its trials (\S+) go elsewhere/m, tuner.tail());

    const records = fs.readFileSync(path.join(sweep(), 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
    assert.deepEqual(records.map((r) => r.id).sort(), ['t000-s0', 't001-s0', 't002-s0']);
    for (const r of records) {
      assert.equal(r.status, 'completed', JSON.stringify(r));
      assert.equal(r.iterations, ITERATIONS, JSON.stringify(r));
    }
    const moved = records.find((r) => r.id === victim)!;
    assert.deepEqual(moved.ranOn?.map((p) => p.split(' ')[1]), ['good1', 'good2'], JSON.stringify(moved));
    for (const r of records) if (r.id !== victim) assert.ok(r.ranOn?.length === 1 && /^agent good[12] /.test(r.ranOn[0]), JSON.stringify(r));
    // On good2 it resumed from a checkpoint the tuner had received from good1 (or a later one), not from the start.
    const resumed = new RegExp(`^tune-agent: trial ${victim} started from (iter_\\d+)$`, 'm').exec(agents.good2.output());
    assert.ok(resumed, agents.good2.tail());
    assert.ok(resumed[1] >= path.basename(before), `${resumed[1]} < ${path.basename(before)}`);
    // Its progress.jsonl in the sweep dir is one run: each iteration once, in order.
    const rows = progressSoFar(path.join(sweep(), 'trials', victim));
    assert.deepEqual(rows.map((r) => r.iteration), Array.from({ length: ITERATIONS }, (_, i) => i + 1));
  });

  it('gives an agent whose key is not in --allowed-keys nothing: it says it was refused, and no trial names it', async function () {
    this.timeout(30_000);
    const a = agents.stranger;
    await until('the stranger to stop', () => (a.running ? undefined : true), 20_000);
    assert.equal(a.exitCode(), 3, a.tail());
    assert.match(a.output(), /refused this agent's key \(not in its --allowed-keys\)/, a.tail());
    assert.doesNotMatch(a.output(), /trial \S+ started/, a.tail());
    assert.match(tuner!.output(), new RegExp(`^ZAP: refused CURVE key \\S+ from ${hosts!.address('a1').replace(/\./g, '\\.')} `, 'm'), tuner!.tail());
    assert.doesNotMatch(fs.readFileSync(path.join(sweep(), 'trials.jsonl'), 'utf8'), /stranger/);
  });
});
