import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ppo, ppoConfigSchema, type Ppo } from '../algorithms/ppo/ppo';
import { ppoLoss, ppoObjective } from '../algorithms/ppo/loss';
import { activate, Dense } from '../algorithms/common/mlp';
import { FlatParams } from '../algorithms/common/flat-model';
import { makeEnv, Rng } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import type { ModelConfig } from '../core/algorithm';
import { actOn, specOf, weightsOf, withWeights } from './helpers/policy-fixtures';
import { NonFiniteError } from '../core/errors';
import { ppoStep, ppoWrittenOutGradient, type PpoMinibatch } from '../algorithms/ppo/step';
import { gradientPaths, tapeGradient, type GradientPath } from '../algorithms/common/gradient-step';

const model: ModelConfig = { hiddenSizes: [16, 16], activation: 'tanh' as const, sharedLayers: false };
const convModel: ModelConfig = { ...model, conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'valid' }, { filters: 4, kernel: 3, stride: 2, padding: 'same' }] };

function makePpo(overrides: Record<string, unknown> = {}, setup: { envId: string; model: ModelConfig } = { envId: 'CartPole-v1', model }) {
  const { envId } = setup;
  const env = makeEnv(envId);
  const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
  const config = ppoConfigSchema.parse({ minibatchSize: 32, numEpochs: 2, ...overrides });
  const algo = ppo.create({ config, model: setup.model, ...spaces, seed: 3, totalEnvs: 4, rolloutLength: 16 }) as Ppo;
  const worker = new RolloutWorker({
    workerId: 0,
    envId,
    envConfig: {},
    numEnvs: 4,
    rolloutLength: 16,
    seed: 3,
    policy: ppo.createPolicy(specOf(algo)),
    spec: specOf(algo),
  });
  worker.setParams(algo.getParams().default, 0);
  return { algo, worker };
}

describe('PPO', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('computes the clipped surrogate, value loss, entropy and diagnostics on tiny inputs as worked out by hand, as the logged metrics', () => {
    // Row 0: ratio 0.75/0.5 = 1.5, A = +1: min(1.5, clip 1.2) -> loss -1.2 (clipped).
    // Row 1: ratio 0.36/0.4 = 0.9, A = -1: max(0.9, 0.9) -> loss 0.9 (inside the clip range).
    // pgLoss = (-1.2 + 0.9) / 2 = -0.15; clipFraction = 1/2.
    // Value: v = [1, 2], returns [2, 2], old [0.5, 2]; clipped v0 = 0.5 + 0.2 = 0.7:
    // max((1-2)^2, (0.7-2)^2) = 1.69 -> vLoss = 0.5 * (1.69 + 0) / 2 = 0.4225.
    // approxKl = mean((r - 1) - ln r) = ((0.5 - ln 1.5) + (-0.1 - ln 0.9)) / 2 = 0.04994775.
    // loss = -0.15 - 0.01 * 0.6 + 0.5 * 0.4225 = 0.05525.
    const cfg = { clipRange: 0.2, clipRangeVf: 0.2, entCoef: 0.01, vfCoef: 0.5 };
    const rows = { logProb: [Math.log(0.75), Math.log(0.36)], oldLogp: [Math.log(0.5), Math.log(0.4)], advantages: [1, -1], entropy: [0.5, 0.7], value: [1, 2], oldValues: [0.5, 2], returns: [2, 2] };
    const got: Record<string, number> = tf.tidy(() => {
      const t = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, tf.tensor1d(v)])) as Record<keyof typeof rows, tf.Tensor>;
      const out = ppoObjective(t, cfg);
      return { loss: out.loss.dataSync()[0], ...Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, (v as tf.Tensor).dataSync()[0]])) };
    });
    const expected = { loss: 0.05525, policyLoss: -0.15, valueLoss: 0.4225, entropy: 0.6, approxKl: 0.04994775, clipFraction: 0.5 };
    assert.deepEqual(Object.keys(got), Object.keys(expected));
    for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(got[k] - v) < 1e-5, `${k}: ${got[k]} != ${v}`);
  });

  // [5, 3] x [3, 4]: matmuls as written; [2, 40] x [40, 30]: a wide layer on few rows, by W first (mlp.ts).
  for (const [rows, inputs, outputs] of [[5, 3, 4], [2, 40, 30]]) {
    it(`matches tfjs' own gradients with its hand-written dense and tanh gradients (${rows} rows, ${inputs} -> ${outputs})`, () => {
      const rng = new Rng(5);
      const params = new FlatParams();
      const layer = new Dense(params, 'l', inputs, outputs, 1, rng);
      const x = tf.tensor2d(Float32Array.from({ length: rows * inputs }, () => rng.normal()), [rows, inputs]);
      const g1 = tf.variableGrads(() => tf.sum(tf.square(activate(layer.apply(params.unpack(), x), 'tanh'))) as tf.Scalar, [params.variable]);
      const [w, b] = params.getWeights();
      const g2 = tf.variableGrads(() => {
        const p = params.unpack();
        return tf.sum(tf.square(tf.tanh(tf.add(tf.matMul(x, p['l/w'] as tf.Tensor2D), p['l/b'])))) as tf.Scalar;
      }, [params.variable]);
      assert.equal(w.data.length + b.data.length, (inputs + 1) * outputs);
      const a = Object.values(g1.grads)[0].dataSync();
      const e = Object.values(g2.grads)[0].dataSync();
      assert.ok(a.some((v) => v !== 0));
      a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) < 1e-5, `grad ${i}: ${v} != ${e[i]}`));
      assert.ok(Math.abs(g1.value.dataSync()[0] - g2.value.dataSync()[0]) < 1e-5);
      const inferred = tf.tidy(() => layer.infer(params.unpack(), x, 'tanh').dataSync());
      const applied = tf.tidy(() => activate(layer.apply(params.unpack(), x), 'tanh').dataSync());
      inferred.forEach((v, i) => assert.ok(Math.abs(v - applied[i]) < 1e-5, `infer ${i}: ${v} != ${applied[i]}`));
      tf.dispose([x, g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
      params.dispose();
    });
  }

  it('gives the same gradient and metrics by the tape as by the written-out path on a seeded minibatch (discrete and Gaussian, shared and separate towers, conv layers, action masks)', () => {
    const rng = new Rng(11);
    const cases = [
      ['CartPole-v1', false, null, [], false],
      ['CartPole-v1', true, 0.2, [], false],
      ['Pendulum-v1', false, 0.2, [], false],
      ['Pendulum-v1', true, null, [], false],
      ['Catch', false, 0.2, convModel.conv!, false],
      ['Catch', true, null, convModel.conv!, false],
      ['Acrobot-v1', false, 0.2, [], true],
      ['Catch', true, null, convModel.conv!, true],
    ] as const;
    for (const [envId, sharedLayers, clipRangeVf, conv, withMask] of cases) {
      const env = makeEnv(envId);
      const spec = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
      const net = new ActorCritic(spec, { hiddenSizes: [8, 8], activation: 'tanh', sharedLayers, conv: [...conv] }, 4, -0.3);
      const cfg = ppoConfigSchema.parse({ clipRange: 0.2, clipRangeVf, entCoef: 0.05, vfCoef: 0.5 });
      const B = 24;
      const t = tf.tidy(() => {
        const obs = tf.tensor2d(Float32Array.from({ length: B * net.obsSize }, () => rng.normal()), [B, net.obsSize]);
        const { pi, value, logStd } = net.forward(obs);
        // With masks: each row's action legal, each row one illegal action (a random one besides it).
        const taken = net.discrete ? Array.from({ length: B }, () => rng.int(net.actionSize)) : [];
        const mask = withMask ? tf.tensor2d(taken.flatMap((a) => { const m = new Array(net.actionSize).fill(1); m[(a + 1 + rng.int(net.actionSize - 1)) % net.actionSize] = 0; return m; }), [B, net.actionSize]) : null;
        const actions = net.discrete ? tf.oneHot(tf.tensor1d(taken, 'int32'), net.actionSize).toFloat() : tf.add(pi, tf.randomNormal(pi.shape, 0, 1, 'float32', 5));
        const logProb = net.evaluateActions(pi, logStd, actions, mask).logProb;
        // Old log-probs and values a little off, so that some ratios and values fall outside the clip ranges.
        const oldLogp = tf.add(logProb, tf.tensor1d(Array.from({ length: B }, () => rng.uniform(-0.4, 0.4))));
        const oldValues = tf.add(value, tf.tensor1d(Array.from({ length: B }, () => rng.uniform(-0.5, 0.5))));
        return { obs, actions, oldLogp, oldValues, ...(mask ? { mask } : {}), advantages: tf.tensor1d(Array.from({ length: B }, () => rng.normal())), returns: tf.tensor1d(Array.from({ length: B }, () => rng.normal())) };
      });
      const before = tf.memory().numTensors;
      const [tape, mine] = tf.tidy(() => {
        const paths = [tapeGradient((p) => ppoLoss(net, p, t, cfg), net.params), ppoWrittenOutGradient(net, t, cfg)];
        const read = paths.map((g) => ({ grad: g.grad.dataSync(), loss: g.loss.dataSync()[0], metrics: Object.fromEntries(Object.entries(g.metrics).map(([k, v]) => [k, (v as tf.Tensor).dataSync()[0]])) }));
        tf.dispose([paths[0].loss, ...Object.values(paths[0].metrics)]); // kept by the tape
        return read;
      });
      assert.equal(tf.memory().numTensors, before);
      const label = `${envId} shared ${sharedLayers} clipRangeVf ${clipRangeVf} conv layers ${conv.length} masks ${withMask}`;
      assert.ok(tape.metrics.clipFraction > 0 && tape.metrics.clipFraction < 1, `${label}: clip fraction ${tape.metrics.clipFraction}: both sides of the clip should be tested`);
      assert.equal(mine.grad.length, tape.grad.length);
      const worst = Math.max(...Array.from(mine.grad, (v, i) => Math.abs(v - tape.grad[i])));
      assert.ok(worst < 1e-5, `${label}: largest difference ${worst}`);
      assert.ok(Math.max(...Array.from(tape.grad, Math.abs)) > 0.01, `${label}: a gradient of zeros proves nothing`);
      assert.ok(Math.abs(mine.loss - tape.loss) < 1e-5, `${label}: loss ${mine.loss} != ${tape.loss}`);
      for (const [k, v] of Object.entries(tape.metrics)) assert.ok(Math.abs(mine.metrics[k] - v) < 1e-5, `${label} ${k}: ${mine.metrics[k]} (written out) != ${v} (tape)`);
      tf.dispose(Object.values(t));
      net.dispose();
    }
  });

  it('takes the same gradient steps, metrics included, through the loss on the tape as through the written-out gradient', () => {
    const rng = new Rng(13);
    const cases = [
      ['CartPole-v1', false, {}],
      ['Pendulum-v1', true, { clipRangeVf: 0.2, entCoef: 0.01 }],
    ] as const;
    for (const [envId, sharedLayers, overrides] of cases) {
      const env = makeEnv(envId);
      const spec = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
      const cfg = ppoConfigSchema.parse(overrides);
      const paths: GradientPath[] = ['tape', 'writtenOut'];
      const nets = paths.map(() => new ActorCritic(spec, { hiddenSizes: [8, 8], activation: 'tanh', sharedLayers }, 4, -0.3));
      const optimizers = paths.map(() => tf.train.adam(0.01, 0.9, 0.999, 1e-5));
      const B = 32;
      const net = nets[0];
      const mb: PpoMinibatch = tf.tidy(() => {
        const obs = Float32Array.from({ length: B * net.obsSize }, () => rng.normal());
        const { pi, logStd } = net.forward(tf.tensor2d(obs, [B, net.obsSize]));
        const actions = net.discrete ? tf.oneHot(tf.tensor1d(Array.from({ length: B }, () => rng.int(net.actionSize)), 'int32'), net.actionSize).toFloat() : tf.add(pi, tf.randomNormal(pi.shape, 0, 1, 'float32', 5));
        const logProb = net.evaluateActions(pi, logStd, actions).logProb.dataSync() as Float32Array;
        const values = net.value(tf.tensor2d(obs, [B, net.obsSize])).dataSync() as Float32Array;
        return {
          obs,
          actions: actions.dataSync() as Float32Array,
          advantages: Float32Array.from({ length: B }, () => rng.normal()),
          // A little off, so that some ratios and values fall outside the clip ranges.
          oldLogp: logProb.map((v) => v + rng.uniform(-0.4, 0.4)),
          oldValues: values.map((v) => v + rng.uniform(-0.5, 0.5)),
          returns: Float32Array.from({ length: B }, () => rng.normal()),
        };
      });
      const w0 = net.getWeights();
      let clipped = 0;
      for (let step = 1; step <= 5; step++) {
        const [a, b] = paths.map((gradientPath, i) => ppoStep(nets[i], optimizers[i], mb, { ...cfg, gradientPath }, { algorithm: 'ppo', where: () => `step ${step}` }));
        for (const k of Object.keys(a) as (keyof typeof a)[]) assert.ok(Math.abs(a[k] - b[k]) <= 1e-5 * (1 + Math.abs(a[k])), `${envId} step ${step} ${k}: ${a[k]} (tape) != ${b[k]} (written out)`);
        clipped += a.clipFraction;
      }
      assert.ok(clipped > 0, 'no ratio was ever clipped: half the loss untested');
      const [wa, wb] = nets.map((n) => n.getWeights());
      const worst = Math.max(...wa.flatMap((w, i) => Array.from(w.data, (v, j) => Math.abs(v - wb[i].data[j]))));
      assert.ok(worst < 1e-5, `${envId}: weights differ by ${worst}`);
      assert.ok(wa.some((w, i) => w.data.some((v, j) => Math.abs(v - w0[i].data[j]) > 1e-3)), 'the steps changed nothing');
      nets.forEach((n) => n.dispose());
      optimizers.forEach((o) => o.dispose());
    }
  });

  it('refuses an update whose batch holds NaN rewards, naming the update, and keeps the weights and the optimizer as they were', async () => {
    const { algo, worker } = makePpo();
    const bad = worker.sample();
    bad.rewards.fill(NaN);
    const before = weightsOf(algo);
    await assert.rejects(
      algo.update([bad], { envSteps: 64, policyVersion: 0 }),
      (err: Error) => err instanceof NonFiniteError && /^ppo: the policy loss is NaN in the update at 64 env steps \(epoch 1, minibatch 1\); the step was not applied/.test(err.message),
    );
    assert.deepEqual(weightsOf(algo), before);
    // Nothing of the refused step stayed behind (Adam's moments would carry a NaN into every later step).
    const metrics = await algo.update([worker.sample()], { envSteps: 128, policyVersion: 0 });
    assert.ok(Number.isFinite(metrics.policyLoss) && weightsOf(algo).every((w) => w.data.every(Number.isFinite)));
    worker.close();
    algo.dispose();
  });

  /** An update, a weight sync and sampling, twice: the second round must leave tfjs' tensor count as it was. */
  async function assertNoLeak(made: ReturnType<typeof makePpo>): Promise<Record<string, number>> {
    const { algo, worker } = made;
    await algo.update([worker.sample(), worker.sample()], { envSteps: 128, policyVersion: 0 }); // warm-up: tfjs' own constants
    worker.setParams(withWeights(weightsOf(algo)), 1);
    worker.sample();
    const before = tf.memory().numTensors;
    const metrics = await algo.update([worker.sample()], { envSteps: 192, policyVersion: 0 });
    worker.setParams(withWeights(weightsOf(algo)), 2);
    worker.sample();
    assert.equal(tf.memory().numTensors, before);
    for (const k of ['policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'explainedVariance', 'learningRate']) {
      assert.ok(Number.isFinite(metrics[k]), `${k} is ${metrics[k]}`);
    }
    worker.close();
    algo.dispose();
    return metrics;
  }

  it('leaks no tensors across an update, a weight sync and sampling, by either gradient path', async () => {
    for (const gradientPath of gradientPaths) await assertNoLeak(makePpo({ gradientPath }));
  });

  it('leaks no tensors across an update, a weight sync and sampling with a conv encoder on Catch, by either gradient path', async () => {
    for (const gradientPath of gradientPaths) {
      const made = makePpo({ gradientPath }, { envId: 'Catch', model: convModel });
      assert.deepEqual(weightsOf(made.algo).slice(0, 4).map((w) => [w.name, w.shape]), [['conv/0/w', [9, 4]], ['conv/0/b', [4]], ['conv/1/w', [36, 4]], ['conv/1/b', [4]]]);
      await assertNoLeak(made);
    }
  });

  it('changes the weights with an update, and a worker given them acts like the learner', async () => {
    const { algo, worker } = makePpo();
    const w0 = weightsOf(algo);
    await algo.update([worker.sample()], { envSteps: 64, policyVersion: 0 });
    const w1 = weightsOf(algo);
    assert.deepEqual(w1.map((w) => w.name), w0.map((w) => w.name));
    assert.ok(w1.some((w, i) => w.data.some((v, j) => v !== w0[i].data[j])), 'no weight changed');
    const policy = ppo.createPolicy(specOf(algo));
    policy.setParams(withWeights(w1));
    const obs = Float32Array.of(0.01, 0.2, -0.03, -0.1);
    const a = actOn(policy, obs, 1, new Rng(1), true);
    worker.setParams(withWeights(w1), 1);
    const b = actOn(worker.opts.policy, obs, 1, new Rng(2), true);
    assert.deepEqual(a.actions, b.actions);
    assert.deepEqual(a.columns.value, b.columns.value);
    policy.dispose();
    worker.close();
    algo.dispose();
  });

  const image = { shape: [6, 5, 2], conv: convModel.conv! };
  const flat = { shape: [5], conv: [] };
  for (const [label, sharedLayers, actionSpace, { shape, conv }] of [
    ['separate towers, Discrete', false, { type: 'Discrete', n: 3 }, flat],
    ['a shared body, Discrete', true, { type: 'Discrete', n: 3 }, flat],
    ['separate towers, Box', false, { type: 'Box', shape: [2], low: [-1, -1], high: [1, 1] }, flat],
    ['a conv encoder, separate towers, Discrete', false, { type: 'Discrete', n: 3 }, image],
    ['a conv encoder, a shared body, Discrete', true, { type: 'Discrete', n: 3 }, image],
    ['a conv encoder, separate towers, Box', false, { type: 'Box', shape: [2], low: [-1, -1], high: [1, 1] }, image],
  ] as const) {
    it(`samples from one fused network that gives the learner's numbers (${label})`, () => {
      const obsSize = shape.reduce((a, d) => a * d, 1);
      const spec = ppo.policySpec({
        observationSpace: { type: 'Box', shape: [...shape], low: Array(obsSize).fill(-9), high: Array(obsSize).fill(9) },
        actionSpace: actionSpace as never,
        model: { hiddenSizes: [8, 6], activation: 'tanh', sharedLayers, conv: [...conv] },
        config: ppoConfigSchema.parse({}),
      });
      const learner = new ActorCritic(spec, spec.model, 9, -0.5);
      const policy = ppo.createPolicy(spec);
      policy.setParams(withWeights(learner.getWeights()));
      const rng = new Rng(4);
      const obs = Float32Array.from({ length: 3 * obsSize }, () => rng.normal());
      const acted = actOn(policy, obs, 3, new Rng(1), true);
      const { pi, value } = tf.tidy(() => {
        const out = learner.forward(tf.tensor2d(obs, [3, obsSize]));
        return { pi: out.pi.dataSync(), value: out.value.dataSync() };
      });
      value.forEach((v, i) => assert.ok(Math.abs(v - acted.columns.value[i]) < 1e-5, `value ${i}: ${acted.columns.value[i]} != ${v}`));
      const width = learner.actionSize;
      for (let r = 0; r < 3; r++) {
        const row = Array.from(pi.subarray(r * width, (r + 1) * width));
        if (learner.discrete) assert.equal(acted.actions[r], row.indexOf(Math.max(...row)));
        else row.forEach((m, j) => assert.ok(Math.abs(acted.actions[r * width + j] - m) < 1e-5));
      }
      policy.dispose();
      learner.dispose();
    });
  }

  it('rejects weights of the wrong size with the tensor named', () => {
    const { algo, worker } = makePpo();
    const w = weightsOf(algo);
    w[0] = { ...w[0], data: new Float32Array(3) };
    assert.throws(() => worker.setParams(withWeights(w), 1), /weights: pi\/0\/w has 3 values, the model needs 64 \(\[4,16\]\)/);
    worker.close();
    algo.dispose();
  });
});
