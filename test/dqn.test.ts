import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { apexEpsilon, dqn, dqnConfigSchema, epsilonAt, type Dqn } from '../algorithms/dqn/dqn';
import { dqnLoss, dqnObjective, huberLoss, huberLossGradient, qTargets } from '../algorithms/dqn/loss';
import { dqnStep, dqnWrittenOutGradient, minibatchTensors } from '../algorithms/dqn/step';
import { tapeGradient, type GradientPath } from '../algorithms/common/gradient-step';
import { nStepTransitions } from '../algorithms/common/nstep';
import { EPSILON, QNetwork } from '../algorithms/dqn/q-network';
import { paramsOf, specOf, weightsOf } from './helpers/policy-fixtures';
import { ReplayBuffer, SumTree } from '../algorithms/common/replay';
import { makeEnv, Rng } from '../envs';
import { DEFAULT_POLICY, type ModelConfig, type TrajectoryBatch } from '../core/algorithm';
import { NonFiniteError } from '../core/errors';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { progress } from './helpers/progress';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-dqn-'));

/** One env, six steps: rewards 1..6, a termination after step 2 (index 1), a truncation after step 5 (index 4). */
function shortTrajectory(): TrajectoryBatch {
  const obs = Float32Array.from([10, 11, 12, 13, 14, 15]); // obs size 1: the observation names its step
  return {
    workerId: 0, seq: 0, policyId: DEFAULT_POLICY, policyVersion: 0, numEnvs: 1, length: 6,
    obs,
    actions: Float32Array.from([0, 1, 0, 1, 0, 1]),
    rewards: Float32Array.from([1, 2, 3, 4, 5, 6]),
    terminated: Uint8Array.from([0, 1, 0, 0, 0, 0]),
    truncated: Uint8Array.from([0, 0, 0, 0, 1, 0]),
    columns: {},
    state: {},
    nextObs: Float32Array.from([99]),
    finalObs: { index: Int32Array.from([4]), obs: Float32Array.from([77]) },
    nextMasks: null,
    episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
  };
}

describe('DQN', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  describe('n-step returns', () => {
    it('sum up to n rewards, stop at a termination (no bootstrap) and at a truncation (bootstrap from the final observation)', () => {
      const t = nStepTransitions(shortTrajectory(), 3, 0.5);
      // step 0: 1 + 0.5*2, terminated at step 1 -> discount 0
      // step 1: 2, terminated -> discount 0
      // step 2: 3 + 0.5*4 + 0.25*5, truncated at step 4 -> bootstrap from finalObs 77 with 0.5^3
      // step 3: 4 + 0.5*5, truncated at 4 -> finalObs 77, 0.5^2
      // step 4: 5, truncated -> finalObs 77, 0.5
      // step 5: 6, the batch ends -> nextObs 99, 0.5
      assert.deepEqual(Array.from(t.rewards), [2, 2, 6.25, 6.5, 5, 6]);
      assert.deepEqual(Array.from(t.discounts), [0, 0, 0.125, 0.25, 0.5, 0.5]);
      assert.deepEqual(Array.from(t.nextObs).slice(2), [77, 77, 77, 99]);
      assert.deepEqual(Array.from(t.actions), [0, 1, 0, 1, 0, 1]);
    });

    it('with n = 1 are one-step transitions whose next state is the following observation', () => {
      const b = shortTrajectory();
      b.terminated.fill(0);
      b.truncated.fill(0);
      b.finalObs = { index: new Int32Array(0), obs: new Float32Array(0) };
      const t = nStepTransitions(b, 1, 0.9);
      assert.deepEqual(Array.from(t.rewards), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(Array.from(t.nextObs), [11, 12, 13, 14, 15, 99]);
      assert.ok(Array.from(t.discounts).every((d) => Math.abs(d - 0.9) < 1e-6));
    });

    it('keep envs apart in a time-major batch of two envs', () => {
      const b: TrajectoryBatch = {
        ...shortTrajectory(),
        numEnvs: 2, length: 2,
        obs: Float32Array.from([0, 100, 1, 101]), // rows t*2 + e
        actions: Float32Array.from([0, 0, 1, 1]),
        rewards: Float32Array.from([1, 10, 2, 20]),
        terminated: Uint8Array.from([0, 0, 0, 1]),
        truncated: new Uint8Array(4),
        nextObs: Float32Array.from([2, 102]),
        finalObs: { index: new Int32Array(0), obs: new Float32Array(0) },
      };
      const t = nStepTransitions(b, 2, 0.5);
      assert.deepEqual(Array.from(t.rewards), [2, 20, 2, 20]); // env 0: 1 + 0.5*2; env 1: 10 + 0.5*20
      assert.deepEqual(Array.from(t.discounts), [0.25, 0, 0.5, 0]);
      assert.deepEqual([t.nextObs[0], t.nextObs[2]], [2, 2]);
    });
  });

  it('computes double-DQN and plain DQN targets as worked out by hand', () => {
    tf.tidy(() => {
      const rewards = tf.tensor1d([1, 0.5]);
      const discounts = tf.tensor1d([0.9, 0]);
      const qNextTarget = tf.tensor2d([[3, 5], [7, 2]]);
      const qNextOnline = tf.tensor2d([[4, 1], [0, 9]]); // picks action 0 for row 0, action 1 for row 1
      // double: 1 + 0.9 * Qtarget(s', 0) = 1 + 0.9*3; 0.5 + 0 (terminated)
      assert.deepEqual(Array.from(qTargets(rewards, discounts, qNextTarget, qNextOnline).dataSync()).map((x) => +x.toFixed(5)), [3.7, 0.5]);
      // plain: 1 + 0.9 * max(3, 5)
      assert.deepEqual(Array.from(qTargets(rewards, discounts, qNextTarget, null).dataSync()).map((x) => +x.toFixed(5)), [5.5, 0.5]);
    });
  });

  it('computes the weighted Huber loss, its gradient and the logged metrics as worked out by hand', () => {
    // td [0.5, -2], weights [1, 0.5], delta 1: huber 0.5 * 0.25 = 0.125 and 1 * (2 - 0.5) = 1.5;
    // loss = (1 * 0.125 + 0.5 * 1.5) / 2 = 0.4375; dloss/dQ = w * clip(td, -1, 1) / 2 = [0.25, -0.25].
    const td = Float32Array.of(0.5, -2);
    const weights = Float32Array.of(1, 0.5);
    const [loss, grad, auto] = tf.tidy(() => {
      const f = (t: tf.Tensor) => huberLoss(t, tf.tensor1d(weights), 1);
      return [f(tf.tensor1d(td)).dataSync()[0], Array.from(huberLossGradient(tf.tensor1d(td), tf.tensor1d(weights), 1).dataSync()), Array.from(tf.grad(f)(tf.tensor1d(td)).dataSync())];
    });
    assert.ok(Math.abs(loss - 0.4375) < 1e-6, String(loss));
    assert.deepEqual(grad, [0.25, -0.25]);
    assert.deepEqual(auto, grad);
    // The same TD errors through the whole loss: Q(s, a) = [3, 1] (actions 0 and 1), targets r = [2.5, 3] (discount 0):
    // qMean 2, mean |td| 1.25.
    const metrics = tf.tidy(() => {
      const out = dqnObjective(tf.tensor2d([[3, 9], [9, 1]]), {
        obs: tf.zeros([2, 1]), actions: tf.tensor2d([[1, 0], [0, 1]]), rewards: tf.tensor1d([2.5, 3]), discounts: tf.tensor1d([0, 0]), qNextTarget: tf.zeros([2, 2]), weights: tf.tensor1d(weights),
      }, { doubleQ: false, huberDelta: 1 });
      return { loss: out.metrics.loss.dataSync()[0], qMean: out.metrics.qMean.dataSync()[0], tdError: out.metrics.tdError.dataSync()[0], td: Array.from(out.rows!.td.dataSync()) };
    });
    assert.deepEqual(metrics, { loss: 0.4375, qMean: 2, tdError: 1.25, td: [0.5, -2] });
  });

  it('gives the same gradient, metrics and TD errors by the tape as by the written-out path on a seeded minibatch (double and plain, dueling and not, prioritized, conv layers)', () => {
    const rng = new Rng(21);
    const B = 24;
    const convLayers = [{ filters: 4, kernel: 3, stride: 1, padding: 'valid' as const }, { filters: 3, kernel: 2, stride: 2, padding: 'same' as const }];
    for (const [doubleQ, dueling, prioritizedReplay, envId] of [[true, false, false, 'CartPole-v1'], [false, false, true, 'CartPole-v1'], [true, true, true, 'CartPole-v1'], [false, true, false, 'CartPole-v1'], [true, false, true, 'Catch'], [false, true, true, 'Catch']] as const) {
      const env = makeEnv(envId);
      const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
      const cfg = dqnConfigSchema.parse({ doubleQ, dueling, prioritizedReplay, huberDelta: 0.5 });
      const model: ModelConfig = { hiddenSizes: [8, 8], activation: 'relu', sharedLayers: false, conv: envId === 'Catch' ? convLayers : [] };
      const online = new QNetwork(spaces, model, dueling, 2);
      const target = new QNetwork(spaces, model, dueling, 3);
      const d = online.obsSize;
      const s = {
        index: new Int32Array(B),
        obs: Float32Array.from({ length: B * d }, () => rng.normal()),
        nextObs: Float32Array.from({ length: B * d }, () => rng.normal()),
        actions: Int32Array.from({ length: B }, () => rng.int(online.numActions)),
        rewards: Float32Array.from({ length: B }, () => rng.normal() * (envId === 'Catch' ? 1 : 3)), // around delta: both sides of the Huber loss
        discounts: Float32Array.from({ length: B }, () => (rng.random() < 0.2 ? 0 : 0.99)),
        weights: Float32Array.from({ length: B }, () => rng.uniform(0.2, 1)),
      };
      const both = () => tf.tidy(() => {
        const mb = minibatchTensors({ online, target, targetP: target.params.unpack() }, s, cfg);
        const paths = [tapeGradient((p) => dqnLoss(online, p, mb, cfg), online.params), dqnWrittenOutGradient(online, mb, cfg)];
        const read = paths.map((g) => ({ grad: g.grad.dataSync(), td: g.rows!.td.dataSync(), metrics: Object.fromEntries(Object.entries(g.metrics).map(([k, v]) => [k, (v as tf.Tensor).dataSync()[0]])) }));
        tf.dispose([paths[0].loss, ...Object.values(paths[0].metrics), paths[0].rows!.td]); // kept by the tape
        return read;
      });
      both(); // warm-up: tfjs' own constants
      const before = tf.memory().numTensors;
      const [tape, mine] = both();
      assert.equal(tf.memory().numTensors, before);
      const label = JSON.stringify({ doubleQ, dueling, prioritizedReplay, envId });
      assert.ok(tape.td.some((x) => Math.abs(x) > 0.5) && tape.td.some((x) => Math.abs(x) < 0.5), `${label}: both sides of the Huber loss should be tested`);
      const worst = Math.max(...Array.from(mine.grad, (v, i) => Math.abs(v - tape.grad[i])));
      assert.ok(worst < 1e-5, `${label}: largest difference ${worst}`);
      assert.ok(Math.max(...Array.from(tape.grad, Math.abs)) > 0.01, `${label}: a gradient of zeros proves nothing`);
      assert.deepEqual(Array.from(mine.td), Array.from(tape.td));
      for (const [k, v] of Object.entries(tape.metrics)) assert.ok(Math.abs(mine.metrics[k] - v) < 1e-5, `${label} ${k}: ${mine.metrics[k]} (written out) != ${v} (tape)`);
      online.dispose();
      target.dispose();
    }
  });

  it('takes the same gradient steps through the Huber loss on the tape as through the written-out gradient (double, plain, dueling, prioritized)', () => {
    const env = makeEnv('CartPole-v1');
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const rng = new Rng(8);
    const cases: Record<string, unknown>[] = [{}, { doubleQ: false }, { dueling: true, prioritizedReplay: true, huberDelta: 0.5 }];
    for (const overrides of cases) {
      const cfg = dqnConfigSchema.parse({ batchSize: 16, ...overrides });
      const model: ModelConfig = { hiddenSizes: [8, 8], activation: 'relu', sharedLayers: false };
      const paths: GradientPath[] = ['tape', 'writtenOut'];
      const nets = paths.map(() => ({ online: new QNetwork(spaces, model, cfg.dueling, 2), target: new QNetwork(spaces, model, cfg.dueling, 3) }));
      const optimizers = paths.map(() => tf.train.adam(0.01, 0.9, 0.999, 1e-8));
      const buffer = new ReplayBuffer(64, 4, cfg.prioritizedReplay ? { alpha: 0.6, eps: 1e-6 } : null);
      buffer.add({
        obs: Float32Array.from({ length: 256 }, () => rng.normal()),
        nextObs: Float32Array.from({ length: 256 }, () => rng.normal()),
        actions: Int32Array.from({ length: 64 }, () => rng.int(2)),
        rewards: Float32Array.from({ length: 64 }, () => rng.normal() * 3), // beyond delta: both sides of the Huber loss
        discounts: Float32Array.from({ length: 64 }, () => (rng.random() < 0.2 ? 0 : 0.99)),
      });
      const w0 = nets[0].online.getWeights();
      for (let step = 1; step <= 5; step++) {
        const s = buffer.sample(cfg.batchSize, rng, 0.5);
        const [a, b] = paths.map((gradientPath, i) => {
          const targetP = tf.tidy(() => nets[i].target.params.unpack());
          const out = dqnStep({ ...nets[i], targetP }, optimizers[i], s, { ...cfg, gradientPath }, { algorithm: 'dqn', where: () => `step ${step}` });
          tf.dispose(Object.values(targetP));
          return out;
        });
        for (const k of Object.keys(a.metrics) as (keyof typeof a.metrics)[]) assert.ok(Math.abs(a.metrics[k] - b.metrics[k]) <= 1e-5 * (1 + Math.abs(a.metrics[k])), `${JSON.stringify(overrides)} step ${step} ${k}: ${a.metrics[k]} != ${b.metrics[k]}`);
        buffer.updatePriorities(s.index, b.td);
      }
      const [wa, wb] = nets.map((n) => n.online.getWeights());
      const worst = Math.max(...wa.flatMap((w, i) => Array.from(w.data, (v, j) => Math.abs(v - wb[i].data[j]))));
      assert.ok(worst < 1e-5, `${JSON.stringify(overrides)}: weights differ by ${worst}`);
      assert.ok(wa.some((w, i) => w.data.some((v, j) => Math.abs(v - w0[i].data[j]) > 1e-3)), 'the steps changed nothing');
      nets.forEach((n) => [n.online, n.target].forEach((q) => q.dispose()));
      optimizers.forEach((o) => o.dispose());
    }
  });

  it("writes out the Q-network's gradient exactly as tfjs' autodiff computes it (relu and tanh, plain and dueling)", () => {
    const env = makeEnv('CartPole-v1');
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const rng = new Rng(3);
    for (const [activation, dueling] of [['relu', false], ['relu', true], ['tanh', false], ['tanh', true]] as const) {
      const net = new QNetwork(spaces, { hiddenSizes: [8, 6], activation, sharedLayers: false }, dueling, 5);
      const B = 5;
      const x = tf.tensor2d(Float32Array.from({ length: 2 * B * 4 }, () => rng.normal()), [2 * B, 4]); // B rows used, B more only forwarded
      const dq = tf.tensor2d(Float32Array.from({ length: B * 2 }, () => rng.normal()), [B, 2]);
      // Any loss whose gradient with respect to Q(first B rows) is dq: sum(Q * dq).
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.slice(net.forward(net.params.unpack(), x), [0, 0], [B, 2]), dq)) as tf.Scalar, [net.params.variable]);
      const auto = grads[net.params.variable.name].dataSync();
      const mine = tf.tidy(() => {
        const p = net.params.unpack();
        const { q, rec } = net.forwardRecorded(p, x);
        assert.ok(Math.max(...Array.from(tf.sub(q, net.forward(p, x)).abs().dataSync())) < 1e-5, 'forwardRecorded differs from forward');
        return net.backward(p, rec, dq, B).dataSync();
      });
      assert.equal(mine.length, auto.length);
      const worst = Math.max(...Array.from(mine, (v, i) => Math.abs(v - auto[i])));
      assert.ok(worst < 1e-5, `${activation}${dueling ? ' dueling' : ''}: largest difference ${worst}`);
      assert.ok(Math.max(...Array.from(auto, Math.abs)) > 0.01, 'a gradient of zeros proves nothing');
      tf.dispose([x, dq, ...Object.values(grads)]);
      net.dispose();
    }
  });

  describe('replay buffer', () => {
    it('overwrites the oldest transitions once full and hands back exactly what was stored', () => {
      const buf = new ReplayBuffer(4, 2);
      const add = (k: number) => buf.add({ obs: Float32Array.of(k, -k), nextObs: Float32Array.of(k + 0.5, 0), actions: Int32Array.of(k % 3), rewards: Float32Array.of(k * 10), discounts: Float32Array.of(0.99) });
      for (let k = 0; k < 6; k++) add(k);
      assert.equal(buf.size, 4);
      assert.equal(buf.position, 2);
      const got = buf.gather(Int32Array.from([0, 1, 2, 3]));
      assert.deepEqual(Array.from(got.rewards), [40, 50, 20, 30]);
      assert.deepEqual(Array.from(got.obs), [4, -4, 5, -5, 2, -2, 3, -3]);
      assert.deepEqual(Array.from(got.actions), [1, 2, 2, 0]);
    });

    it('samples by priority: a sum-tree matches brute-force frequencies, and importance weights correct for it', () => {
      const priorities = [1, 2, 3, 4, 0.5, 10, 0, 2.5];
      const tree = new SumTree(priorities.length);
      priorities.forEach((p, i) => tree.set(i, p));
      assert.equal(tree.total, priorities.reduce((a, b) => a + b, 0));
      const rng = new Rng(7);
      const counts = new Array(priorities.length).fill(0);
      const draws = 200_000;
      for (let i = 0; i < draws; i++) counts[tree.find(rng.random() * tree.total)] += 1;
      priorities.forEach((p, i) => {
        const expected = p / tree.total;
        assert.ok(Math.abs(counts[i] / draws - expected) < 0.005, `leaf ${i}: ${counts[i] / draws} vs ${expected}`);
      });

      // Through the buffer: alpha 1 makes priorities |td| + eps; a leaf of priority 0 is never drawn.
      const buf = new ReplayBuffer(8, 1, { alpha: 1, eps: 1e-9 });
      buf.add({ obs: Float32Array.from(priorities.keys()), nextObs: new Float32Array(8), actions: new Int32Array(8), rewards: new Float32Array(8), discounts: new Float32Array(8) });
      buf.updatePriorities(Int32Array.from(priorities.keys()), Float32Array.from(priorities));
      const s = buf.sample(20_000, rng, 1);
      const freq = new Array(8).fill(0);
      s.index.forEach((i) => (freq[i] += 1));
      assert.ok(freq[6] === 0, 'priority 0 was drawn');
      assert.ok(Math.abs(freq[5] / 20_000 - 10 / 23) < 0.01);
      // beta 1: weights are 1/(N P(i)) over their maximum, i.e. min priority drawn / priority.
      const j = s.index.findIndex((i) => i === 5);
      const k = s.index.findIndex((i) => i === 4);
      assert.ok(Math.abs(s.weights[j] / s.weights[k] - 0.5 / 10) < 1e-6);
    });
  });

  it('anneals epsilon linearly and gives Ape-X workers their own rates', () => {
    const cfg = { epsilonStart: 1, epsilonEnd: 0.05, epsilonFraction: 0.1 };
    assert.equal(epsilonAt(cfg, 0, 100_000), 1);
    assert.ok(Math.abs(epsilonAt(cfg, 5_000, 100_000) - 0.525) < 1e-12);
    assert.equal(epsilonAt(cfg, 10_000, 100_000), 0.05);
    assert.equal(epsilonAt(cfg, 90_000, 100_000), 0.05);
    assert.equal(apexEpsilon(0, 4, 0.4, 7), 0.4);
    assert.ok(Math.abs(apexEpsilon(3, 4, 0.4, 7) - 0.4 ** 8) < 1e-15);
    assert.equal(apexEpsilon(0, 1, 0.4, 7), 0.4);
    // The policies built for slots 0 and 1 of two explore at those rates, whatever the broadcast says.
    const env = makeEnv('CartPole-v1');
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const config = dqnConfigSchema.parse({ perWorkerEpsilon: { base: 0.4, alpha: 7 } });
    const algo = dqn.create({ config, model: { hiddenSizes: [8], activation: 'relu', sharedLayers: false }, ...spaces, seed: 0, totalEnvs: 2, rolloutLength: 1, numWorkers: 2 });
    const rates = [0, 1].map((slot) => {
      const policy = dqn.createPolicy(specOf(algo), { slot, numSlots: 2 });
      policy.setParams(paramsOf(algo));
      const rate = (policy as unknown as { currentEpsilon: number }).currentEpsilon;
      policy.dispose();
      return rate;
    });
    assert.deepEqual(rates, [0.4, 0.4 ** 8]);
    algo.dispose();
  });

  function makeDqn(overrides: Record<string, unknown> = {}, envId = 'CartPole-v1', model: ModelConfig = { hiddenSizes: [16, 16], activation: 'relu', sharedLayers: false }) {
    const env = makeEnv(envId);
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const config = dqnConfigSchema.parse({ learningStarts: 64, batchSize: 32, trainFrequency: 4, targetUpdateInterval: 5, weightSyncInterval: 2, ...overrides });
    const algo = dqn.create({ config, model, ...spaces, seed: 4, totalEnvs: 4, rolloutLength: 16, totalEnvSteps: 10_000 }) as Dqn;
    const worker = new RolloutWorker({ workerId: 0, envId, envConfig: {}, numEnvs: 4, rolloutLength: 16, seed: 4, policy: dqn.createPolicy(specOf(algo), { slot: 0, numSlots: 1 }), spec: specOf(algo) });
    worker.setParams(paramsOf(algo), 0);
    return { algo, worker };
  }

  it('leaks no tensors across updates with gradient and target steps, weight syncs and sampling, by either gradient path', async () => {
    const conv: ModelConfig = { hiddenSizes: [16], activation: 'relu', sharedLayers: false, conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'valid' }] };
    const cases: [Record<string, unknown>, string?, ModelConfig?][] = [[{}], [{ gradientPath: 'writtenOut' }], [{ prioritizedReplay: true, dueling: true, nStep: 3 }], [{ doubleQ: false, gradientPath: 'writtenOut' }], [{ prioritizedReplay: true, gradientPath: 'writtenOut' }, 'Catch', conv]];
    for (const [overrides, envId, model] of cases) {
      const { algo, worker } = makeDqn(overrides, envId, model);
      if (model?.conv) assert.deepEqual(weightsOf(algo)[0].shape, [9, 4], 'conv/0/w is the first weight');
      let envSteps = 0;
      const round = async (i: number) => {
        envSteps += 64;
        const m = await algo.update([worker.sample()], { envSteps, policyVersion: i - 1 });
        if (algo.syncDue()) {
          worker.setParams(paramsOf(algo), i);
          algo.weightsBroadcast();
        }
        return m;
      };
      for (let i = 1; i <= 3; i++) await round(i); // warm-up: past learningStarts, tfjs' own constants
      const before = tf.memory().numTensors;
      let metrics: Record<string, number> = {};
      for (let i = 4; i <= 8; i++) metrics = await round(i);
      assert.equal(tf.memory().numTensors, before, JSON.stringify(overrides));
      assert.equal(metrics.gradientSteps, 16); // 64 env steps / trainFrequency 4
      for (const k of ['loss', 'qMean', 'tdError', 'epsilon', 'bufferSize']) assert.ok(Number.isFinite(metrics[k]), `${k} is ${metrics[k]}`);
      worker.close();
      algo.dispose();
    }
  });

  it('refuses a gradient step on transitions with NaN rewards, naming it, and keeps the weights as they were', async () => {
    const { algo, worker } = makeDqn();
    const bad = worker.sample();
    bad.rewards.fill(NaN);
    // epsilon is a scalar of the params, not a tensor among the weights
    assert.ok(weightsOf(algo).every((w) => w.name !== EPSILON) && paramsOf(algo).scalars[EPSILON] === 1, JSON.stringify(paramsOf(algo).scalars));
    const network = () => weightsOf(algo);
    const before = network();
    await assert.rejects(
      algo.update([bad], { envSteps: 64, policyVersion: 0 }), // 64 transitions: learningStarts reached, 16 gradient steps due
      (err: Error) => err instanceof NonFiniteError && /^dqn: the loss is NaN in gradient step 1; the step was not applied/.test(err.message),
    );
    assert.deepEqual(network(), before);
    worker.close();
    algo.dispose();
  });

  it('resumes exactly from its state, replay buffer included', async () => {
    const run = async (stopAt: number, from?: Awaited<ReturnType<Dqn['getState']>>) => {
      const { algo, worker } = makeDqn({ checkpointReplayBuffer: true, prioritizedReplay: true });
      const batches = Array.from({ length: 6 }, () => worker.sample());
      let state;
      for (let i = 1; i <= 6; i++) {
        if (from && i <= 3) continue;
        if (from && i === 4) await algo.setState(from);
        await algo.update([batches[i - 1]], { envSteps: 64 * i, policyVersion: 0 });
        if (i === stopAt) state = await algo.getState();
      }
      const weights = weightsOf(algo);
      worker.close();
      algo.dispose();
      return { weights, state };
    };
    const straight = await run(3);
    const resumed = await run(6, straight.state);
    assert.deepEqual(resumed.weights.map((w) => Array.from(w.data)), straight.weights.map((w) => Array.from(w.data)));
    const names = straight.state!.tensors.map((t) => t.name);
    for (const n of ['weights/default/q/0/w', 'target/q/0/w', 'optimizer/000', 'replay/obs', 'replay/priorities']) assert.ok(names.includes(n), `${n} missing from ${names}`);
  });

  it('refuses an env with Box actions, saying so', () => {
    const cfg = loadConfig(path.join(root, 'configs', 'dqn-cartpole.yaml'), ['env.id=Pendulum-v1']);
    return assert.rejects(train(cfg, { runDir: path.join(tmp, 'box'), log: () => {} }), /dqn needs a Discrete action space; this env's actions are Box\(shape=\[1\]\)/);
  });

  it('learns CartPole in a short local run, and rl evaluate scores the checkpoint greedily', async () => {
    const cfg = loadConfig(path.join(root, 'configs', 'dqn-cartpole.yaml'), ['stop.envSteps=12000', 'evaluation.every=1000', 'dqn.stepsPerIteration=1000', 'dqn.trainFrequency=4']);
    const run = await train(cfg, { runDir: path.join(tmp, 'local'), log: () => {} });
    const rows = progress(run.runDir);
    assert.equal(rows.length, 12);
    assert.ok(rows[0].episodeReturnMean < 40, `first iteration return ${rows[0].episodeReturnMean}`); // near-random play
    const r = spawnSync(process.execPath, [cli, 'evaluate', '--checkpoint', run.runDir, '--episodes', '20', '--json'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const greedy = JSON.parse(r.stdout).returnMean as number;
    assert.ok(greedy > 100, `greedy return after 12k steps: ${greedy}`);
    const last = rows[rows.length - 1];
    assert.ok(last.epsilon < 0.1 && last.totalGradientSteps > 2000, JSON.stringify(last));
  });

  it('trains with two worker processes streaming batches, reporting their policy lag', async () => {
    const cfg = loadConfig(path.join(root, 'configs', 'dqn-cartpole-workers.yaml'), ['stop.envSteps=6000', 'evaluation.every=1000', 'dqn.stepsPerIteration=1000']);
    const lines: string[] = [];
    const run = await train(cfg, { runDir: path.join(tmp, 'workers'), log: (l) => lines.push(l) });
    const rows = progress(run.runDir);
    assert.ok(run.envSteps >= 6000, String(run.envSteps));
    assert.equal(rows[rows.length - 1].liveWorkers, 2);
    assert.ok(rows.every((r) => Number.isFinite(r.policyLagMean) && r.policyLagMean >= 0));
    assert.ok(rows.some((r) => r.policyLagMean > 0), 'workers never sampled with older weights: not asynchronous');
    assert.ok(rows[rows.length - 1].policyVersion > 10, `weights broadcast ${rows[rows.length - 1].policyVersion} times`);
    assert.ok(lines.some((l) => /worker 0 .* joined/.test(l)) && lines.some((l) => /worker 1 .* joined/.test(l)), lines.join('\n'));
    assert.equal(rows[rows.length - 1].rejectedMessages, 0);
  });
});
