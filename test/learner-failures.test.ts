import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { algorithms } from '../algorithms';
import { ppo, type PpoConfig } from '../algorithms/ppo/ppo';
import { dqn, dqnConfigSchema, type Dqn } from '../algorithms/dqn/dqn';
import type { Algorithm, AlgorithmModule } from '../core/algorithm';
import { TrainingError } from '../core/errors';
import { CartPole, makeEnv, registerEnv } from '../envs';
import { listCheckpoints, loadCheckpoint } from '../src/checkpoint';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { specOf } from './helpers/policy-fixtures';

const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-fail-'));
const quiet = { log: () => {} };
// 4 envs x 64 steps per iteration.
const small = ['workers.envsPerWorker=4', 'workers.rolloutLength=64', 'ppo.minibatchSize=64', 'ppo.numEpochs=2', 'ppo.lrSchedule=constant'];

/** PPO whose weights turn NaN from its `from`-th update on: a diverged update, without waiting for one. */
function divergingPpo(from: number): AlgorithmModule<PpoConfig> {
  return {
    ...ppo,
    name: 'nanppo',
    create(opts) {
      const inner = ppo.create(opts);
      let updates = 0;
      const poison = <T extends { name: string; data: Float32Array }>(ts: T[]) => (updates >= from ? ts.map((t, i) => (i === 0 ? { ...t, data: t.data.map((v, j) => (j === 3 ? NaN : v)) } : t)) : ts);
      const algo: Algorithm = Object.assign(Object.create(inner) as Algorithm, {
        update: async (...args: Parameters<Algorithm['update']>) => {
          updates += 1;
          return inner.update(...args);
        },
        getParams: () => Object.fromEntries(Object.entries(inner.getParams()).map(([id, p]) => [id, { ...p, weights: poison(p.weights) }])),
        getState: async () => {
          const s = await inner.getState();
          return { ...s, tensors: poison(s.tensors) };
        },
      });
      return algo;
    },
  };
}

/** CartPole whose every instance throws on its 150th step: in the third iteration of 64 steps per env. */
class BreaksLater extends CartPole {
  private steps = 0;
  override step(action: number) {
    if (++this.steps === 150) throw new Error('the simulator crashed');
    return super.step(action);
  }
}

describe('The learner on a failure', () => {
  before(() => {
    algorithms.nanppo = divergingPpo(3);
    registerEnv('BreaksLater-v0', () => new BreaksLater(), { maxEpisodeSteps: 500 });
  });
  after(() => {
    delete algorithms.nanppo;
  });

  it('stops on non-finite weights with an error naming the iteration, and never checkpoints them', async () => {
    const base = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [...small, 'stop.iterations=6', 'checkpoint.every=1']);
    const { ppo: section, ...rest } = base;
    const runDir = path.join(tmp, 'nan');
    await assert.rejects(train({ ...rest, algorithm: 'nanppo', nanppo: section }, { runDir, ...quiet }), (e: unknown) => {
      assert.ok(e instanceof TrainingError, String(e));
      assert.match(e.message, /^iteration 3: the weights of policy default to broadcast: [\w/]+\[3\] is NaN; the update diverged, so the run stops/);
      return true;
    });
    assert.deepEqual(listCheckpoints(runDir).map((d) => path.basename(d)), ['iter_000001', 'iter_000002']);
    for (const t of loadCheckpoint(listCheckpoints(runDir)[1]).algorithm.tensors) assert.ok(t.data.every(Number.isFinite), t.name);
    assert.equal(fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').length, 2);
  });

  it('checkpoints the finished iterations on a fatal error, even with checkpoint.every 0, and resumes from there', async () => {
    const cfg = (stop: number) => loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [...small, `stop.iterations=${stop}`, 'env.id=BreaksLater-v0']);
    const runDir = path.join(tmp, 'crash');
    const lines: string[] = [];
    await assert.rejects(train(cfg(6), { runDir, log: (l) => lines.push(l) }), /the simulator crashed/);
    assert.deepEqual(listCheckpoints(runDir).map((d) => path.basename(d)), ['iter_000002']);
    assert.ok(lines.some((l) => /^stopping on an error; checkpoint of iteration 2 \(512 env steps\): .*iter_000002$/.test(l)), lines.join('\n'));
    const ckpt = loadCheckpoint(listCheckpoints(runDir)[0]);
    assert.equal(ckpt.metadata.envSteps, 512);
    assert.deepEqual(ckpt.runtime.workers, []); // envs that threw are not resumed: fresh ones are seeded
    const resumed = await train(cfg(3), { resume: ckpt.dir, ...quiet });
    assert.equal(resumed.iterations, 3);
    assert.deepEqual(fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iteration), [1, 2, 3]);
  });
});

describe('The algorithm contract', () => {
  it('DQN\'s syncDue() only answers: it stays true until the runtime says it broadcast', async () => {
    const env = makeEnv('CartPole-v1');
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const config = dqnConfigSchema.parse({ learningStarts: 64, batchSize: 32, trainFrequency: 4, weightSyncInterval: 2 });
    const algo = dqn.create({ config, model: { hiddenSizes: [16], activation: 'relu', sharedLayers: false }, ...spaces, seed: 4, totalEnvs: 4, rolloutLength: 16, totalEnvSteps: 1e9 }) as Dqn;
    const worker = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 16, seed: 4, policy: dqn.createPolicy(specOf(algo), { slot: 0, numSlots: 1 }), spec: specOf(algo) });
    try {
      const m = await algo.update([worker.sample()], { envSteps: 64, policyVersion: 0 });
      assert.equal(m.gradientSteps, 16);
      assert.equal(algo.syncDue(), true);
      assert.equal(algo.syncDue(), true);
      algo.weightsBroadcast();
      assert.equal(algo.syncDue(), false);
    } finally {
      worker.close();
      algo.dispose();
    }
  });

  it('PPO and DQN declare every metric their update returns', async () => {
    const cases: [AlgorithmModule, Record<string, unknown>][] = [[ppo as AlgorithmModule, { minibatchSize: 32, numEpochs: 1 }], [dqn as AlgorithmModule, { learningStarts: 16, batchSize: 16, prioritizedReplay: true }]];
    for (const [module, config] of cases) {
      const env = makeEnv('CartPole-v1');
      const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
      const algo = module.create({ config: module.configSchema.parse(config), model: { hiddenSizes: [16], activation: 'tanh', sharedLayers: false }, ...spaces, seed: 1, totalEnvs: 4, rolloutLength: 16, totalEnvSteps: 1e5 });
      const worker = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 16, seed: 1, policy: module.createPolicy(specOf(algo), { slot: 0, numSlots: 1 }), spec: specOf(algo) });
      try {
        const keys = Object.keys(await algo.update([worker.sample()], { envSteps: 64, policyVersion: 0 }));
        const declared = new Set(algo.metrics.map((s) => s.key));
        assert.ok(keys.length > 3);
        for (const k of keys) assert.ok(declared.has(k), `${module.name}: ${k}`);
        assert.deepEqual(specOf(algo), module.policySpec({ ...spaces, config: module.configSchema.parse(config), model: { hiddenSizes: [16], activation: 'tanh', sharedLayers: false } }));
      } finally {
        worker.close();
        algo.dispose();
      }
    }
  });
});
