import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_POLICY, type TrajectoryBatch } from '../core/algorithm';
import { ppo } from '../algorithms/ppo/ppo';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { root } from './helpers/cli';
import { progress, withoutTiming } from './helpers/progress';
import { until } from './helpers/until';

/**
 * A recurrent policy (LSTM) sampled by real worker processes over ZeroMQ: the same actions as
 * in local mode for the same seed, its state carried from batch to batch, and a restarted
 * worker's episodes starting afresh from a zero state. The test process takes the backend a
 * spawned worker takes (`auto`), so that both compute the same numbers.
 */

const ENV = 'CartPoleNoVel-v1';
const NUM_ENVS = 4;
const LENGTH = 16;
const model = { hiddenSizes: [16], activation: 'tanh' as const, sharedLayers: false, recurrent: { type: 'lstm' as const, size: 8 } };

function algorithm() {
  const env = makeEnv(ENV);
  const opts = { config: ppoConfigSchema.parse({ minibatchSize: 32, numEpochs: 2, sequenceLength: 8 }), model, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), seed: 3, totalEnvs: NUM_ENVS, rolloutLength: LENGTH };
  return ppo.create(opts);
}

async function pool(policies: ReturnType<ReturnType<typeof algorithm>['policySpecs']>, seed: number, restarts: number, log: (l: string) => void): Promise<WorkerPool> {
  return WorkerPool.start({
    setup: { policies, envId: ENV, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed, heartbeatSeconds: 1, learnerDir: root },
    code: undefined,
    numWorkers: 1,
    maxPolicyLag: 0,
    workerTimeoutSeconds: 30,
    maxWorkerRestarts: restarts,
    heartbeatSeconds: 1,
    log,
  });
}

/** What a batch says of the policy's acting: its actions, the state it acted from, its log-probs and values, and the episodes. */
function acting(b: TrajectoryBatch) {
  return { actions: b.actions, columns: b.columns, state: b.state, rewards: b.rewards, terminated: b.terminated, truncated: b.truncated, obs: b.obs };
}

describe('A recurrent policy through worker processes', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-recurrent-workers-'));

  before(async () => {
    await selectBackend('auto');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('acts exactly as in local mode: one worker process, same seed, the same actions, state, log-probs and values batch after batch', async () => {
    const algo = algorithm();
    const spec = algo.policySpecs()[DEFAULT_POLICY];
    const lines: string[] = [];
    const p = await pool(algo.policySpecs(), 7, 0, (l) => lines.push(l));
    let local: RolloutWorker | undefined;
    try {
      await p.broadcast(algo.getParams(), 0);
      const remote = await p.collect(3 * NUM_ENVS * LENGTH);
      assert.equal(remote.length, 3, lines.join('\n'));
      local = new RolloutWorker({ workerId: remote[0].workerId, envId: ENV, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed: 7, policy: ppo.createPolicy(spec), spec });
      local.setParams(algo.getParams()[DEFAULT_POLICY], 0);
      for (const [k, b] of remote.entries()) assert.deepEqual(acting(b), acting(local.sample()), `batch ${k}`);
      // The state runs on across batches (the second batch starts from the first one's last state, not from zeros) ...
      assert.ok(remote[1].state.h.some((v, i) => v !== 0 && remote[1].state.c[i] !== 0), 'the second batch starts from a carried state');
      // ... and is zero where an episode starts.
      const h = remote[1].columns['state/h'] as Float32Array;
      const starts = remote[0].terminated.subarray((LENGTH - 1) * NUM_ENVS).map((d, e) => d | remote[0].truncated[(LENGTH - 1) * NUM_ENVS + e]);
      starts.forEach((s, e) => s && assert.ok(h.subarray(e * 8, (e + 1) * 8).every((v) => v === 0), `env ${e} starts an episode`));
    } finally {
      local?.close();
      await p.close();
      algo.dispose();
    }
  });

  it('gives exactly the run of local mode through one worker process (progress.jsonl: returns and losses), same seed', async () => {
    const config = (workers: number) =>
      loadConfig(path.join(root, 'configs', 'ppo-lstm-cartpole-novel.yaml'), ['stop.iterations=3', 'seed=2', `workers.numWorkers=${workers}`, 'model.hiddenSizes=[16]', 'model.recurrent.size=8', 'ppo.numEpochs=2', 'workers.heartbeatSeconds=0.5']);
    const local = await train(config(0), { runDir: path.join(tmp, 'local'), log: () => {} });
    const remote = await train(config(1), { runDir: path.join(tmp, 'one-worker'), log: () => {} });
    assert.deepEqual(withoutTiming(progress(remote.runDir)), withoutTiming(progress(local.runDir)));
    assert.equal(progress(remote.runDir)[2].liveWorkers, 1);
  });

  it("starts fresh episodes after a worker restart: the restarted worker's first batch acts from a zero state, and the learner trains on it", async () => {
    const algo = algorithm();
    const lines: string[] = [];
    const p = await pool(algo.policySpecs(), 9, 1, (l) => lines.push(l));
    try {
      await p.broadcast(algo.getParams(), 0);
      const before = await p.collect(2 * NUM_ENVS * LENGTH);
      assert.ok(before[1].state.h.some((v) => v !== 0), 'before the restart, a batch starts from the state the last one left');
      const pid = Number(/worker 0 \(slot 0, \S+ pid (\d+)/.exec(lines.join('\n'))?.[1]);
      assert.ok(pid > 0, lines.join('\n'));
      process.kill(pid, 'SIGKILL');
      await until('the restarted worker to join', () => lines.some((l) => /worker 1 \(slot 0, .*\) joined/.test(l)), { ms: 60_000, context: () => lines.join('\n') });
      const after = await p.collect(NUM_ENVS * LENGTH);
      const first = after.find((b) => b.workerId === 1)!;
      assert.ok(first, `batches of workers ${after.map((b) => b.workerId)}`);
      for (const name of ['h', 'c']) {
        assert.ok(first.state[name].every((v) => v === 0), `the restarted worker's first batch starts from state ${name} = 0`);
        assert.ok((first.columns[`state/${name}`] as Float32Array).subarray(0, NUM_ENVS * 8).every((v) => v === 0), `its first step acts from ${name} = 0`);
      }
      const metrics = await algo.update(after, { envSteps: 3 * NUM_ENVS * LENGTH, policyVersion: 0 });
      assert.ok(Number.isFinite(metrics.policyLoss), JSON.stringify(metrics));
    } finally {
      await p.close();
      algo.dispose();
    }
  });
});
