import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { squashedGaussian } from '../algorithms/common/distributions';
import type { FlatModel } from '../algorithms/common/flat-model';
import { FlatParams, softUpdate } from '../algorithms/common/flat-params';
import { FusedAdam } from '../algorithms/common/fused-adam';
import { gradientStep, tapeGradient } from '../algorithms/common/gradient-step';
import { nStepTransitions } from '../algorithms/common/nstep';
import { ReplayBuffer } from '../algorithms/common/replay';
import { actorLoss, alphaLoss, criticLoss, softQTargets } from '../algorithms/sac/loss';
import { SquashedGaussianActor, TwinCritic } from '../algorithms/sac/networks';
import { SquashedGaussianPolicy, UNIFORM_ACTIONS } from '../algorithms/sac/policy';
import { sac, type Sac } from '../algorithms/sac/sac';
import type { ModelConfig, TrajectoryBatch } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import { Box, Discrete, Rng } from '../envs';
import { envActions } from '../envs/stepper';
import { selectBackend } from '../src/backend';
import { createEnv } from '../src/env-loader';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { assertClose } from './helpers/assert-close';
import { actOn, paramsOf, specOf, weightsOf } from './helpers/policy-fixtures';
import { transitionBatch } from './helpers/protocol-fixtures';

const MODEL: ModelConfig = { hiddenSizes: [16, 16], activation: 'relu', sharedLayers: false };
const LN_2PI = Math.log(2 * Math.PI);

function makeSac(config: Record<string, unknown>, seed = 3, envId = 'Pendulum-v1'): Sac {
  const env = createEnv(envId, {});
  try {
    return sac.create({
      config: sac.configSchema.parse(config),
      model: MODEL,
      observationSpace: env.observationSpace.toSpec(),
      actionSpace: env.actionSpace.toSpec(),
      seed,
      totalEnvs: 2,
      rolloutLength: 16,
    }) as Sac;
  } finally {
    env.close();
  }
}

function workerFor(algo: Sac, envId = 'Pendulum-v1', seed = 5): RolloutWorker {
  const spec = specOf(algo);
  const worker = new RolloutWorker({ workerId: 0, envId, envConfig: {}, numEnvs: 2, rolloutLength: 16, seed, policy: sac.createPolicy(spec), spec });
  worker.setParams(paramsOf(algo), 0);
  return worker;
}

const bits = (x: Float32Array[]) => x.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));

describe('SAC', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  describe('the squashed Gaussian', () => {
    it('gives log pi(a|s) of the change of variables, worked out by hand: mean 0.5, std 0.5, noise 1 -> u = 1, logp = 0.141770', () => {
      // log N(1; 0.5, 0.5) = -1/2 - ln 0.5 - ln(2 pi)/2 = -0.725791; log(1 - tanh(1)^2) = -0.867562
      const { action, logProb } = tf.tidy(() => {
        const r = squashedGaussian.rsample(tf.tensor2d([[0.5]]), tf.tensor2d([[Math.log(0.5)]]), tf.tensor2d([[1]]));
        return { action: r.action.dataSync(), logProb: r.logProb.dataSync() };
      });
      assertClose(action, [Math.tanh(1)], 1e-6, 'action');
      assertClose(logProb, [0.1417703], 1e-5, 'logProb');
      assert.ok(Math.abs(logProb[0] - (-0.5 - Math.log(0.5) - 0.5 * LN_2PI - Math.log(1 - Math.tanh(1) ** 2))) < 1e-5);
    });

    it('sums the log-probability over the action dimensions, and stays finite where tanh saturates (u = 20: the correction is -38.6137)', () => {
      const [two, saturated] = tf.tidy(() => [
        // u = [0.5 + 0.5 * 1, -1 + 1 * -0.5] = [1, -1.5]
        squashedGaussian.rsample(tf.tensor2d([[0.5, -1]]), tf.tensor2d([[Math.log(0.5), 0]]), tf.tensor2d([[1, -0.5]])).logProb.dataSync(),
        squashedGaussian.rsample(tf.tensor2d([[20]]), tf.tensor2d([[0]]), tf.tensor2d([[0]])).logProb.dataSync(),
      ]);
      assertClose(two, [0.8087121], 1e-5, 'two dimensions');
      // log N(20; 20, 1) = -ln(2 pi)/2; minus 2 (ln 2 - 20 - softplus(-40)) = -38.6137
      assertClose(saturated, [-0.5 * LN_2PI + 38.6137056], 1e-4, 'saturated');
    });

    it('bounds the log-std smoothly to (-5, 2): the raw output 0 is the midpoint -1.5, and rawOf inverts it', () => {
      const out = tf.tidy(() => squashedGaussian.logStd(tf.tensor1d([0, 100, -100, squashedGaussian.rawOf(0)])).dataSync());
      assertClose(out, [-1.5, 2, -5, 0], 1e-5, 'logStd');
    });
  });

  describe('the critic\'s target and loss, worked out by hand', () => {
    const spaces = { observationSpace: new Box(-1, 1, [3]).toSpec(), actionSpace: new Box(-2, 2, [1]).toSpec() };
    /** Sets the named tensors of `net` to a constant each (zero weights, a chosen bias), the rest as initialised. */
    const setTo = (net: FlatModel, values: Record<string, number>) =>
      net.setWeights(net.getWeights().map((w) => (w.name in values ? { ...w, data: new Float32Array(w.data.length).fill(values[w.name]) } : w)));
    let actor: SquashedGaussianActor;
    let critic: TwinCritic;
    beforeEach(() => {
      // Heads of zeros: mean 0 and log-std -1.5 (the raw 0) in every state; Q1 = 2 and Q2 = 3 for any state and action.
      actor = new SquashedGaussianActor(spaces, MODEL, 1, 0);
      setTo(actor, { 'pi/mean/w': 0, 'pi/mean/b': 0, 'pi/logStd/w': 0, 'pi/logStd/b': 0 });
      critic = new TwinCritic(spaces, MODEL, 2);
      setTo(critic, { 'q1/out/w': 0, 'q1/out/b': 2, 'q2/out/w': 0, 'q2/out/b': 3 });
    });
    afterEach(() => {
      actor.dispose();
      critic.dispose();
    });

    it('gives y = r + 0.99 (min(Q1\', Q2\') - alpha logp\') = 1 + 0.99 (2 - 0.5 * 0.130441) = 2.915432, and y = r where the episode terminated', () => {
      // noise 1: u = exp(-1.5) = 0.223130; logp = log N(u; 0, exp(-1.5)) - log(1 - tanh(u)^2) = -0.5 + 1.5 - ln(2 pi)/2 + 0.049379
      const sigma = Math.exp(-1.5);
      const logp = -0.5 - Math.log(sigma) - 0.5 * LN_2PI - Math.log(1 - Math.tanh(sigma) ** 2);
      assert.ok(Math.abs(logp - 0.1304408) < 1e-6, `logp ${logp}`);
      const y = tf.tidy(() => {
        const next = { obs: tf.tensor2d([[0.1, -0.2, 0.3], [0.5, 0.5, -0.5]]), noise: tf.tensor2d([[1], [-0.5]]), rewards: tf.tensor1d([1, -1]), discounts: tf.tensor1d([0.99, 0]) };
        const nets = { actor, actorP: actor.params.unpack(), target: critic, targetP: critic.params.unpack() };
        return softQTargets(nets, next, 0.5).dataSync();
      });
      assertClose(y, [1 + 0.99 * (Math.min(2, 3) - 0.5 * logp), -1], 1e-5, 'y');
      assertClose(y, [2.9154318, -1], 1e-5, 'y, the number');
    });

    it('gives qfLoss = mean((Q1 - y)^2) / 2 + mean((Q2 - y)^2) / 2: y = 1.5 and 4 against Q1 = 2, Q2 = 3 -> (2.125 + 1.625) / 2 = 1.875; qMean = 2', () => {
      // Q1 - y = 0.5, -2: mean square 2.125; Q2 - y = 1.5, -1: 1.625
      const { loss, qMean } = tf.tidy(() => {
        const mb = { obs: tf.tensor2d([[0.1, -0.2, 0.3], [0.5, 0.5, -0.5]]), actions: tf.tensor2d([[0.3], [-0.9]]), qTarget: tf.tensor1d([1.5, 4]), noise: tf.zeros([2, 1]) as tf.Tensor2D };
        const r = criticLoss(critic, critic.params.unpack(), mb);
        return { loss: r.loss.dataSync()[0], qMean: r.metrics.qMean.dataSync()[0] };
      });
      assertClose([loss, qMean], [1.875, 2], 1e-6, 'qfLoss, qMean');
    });
  });

  it("takes the actor's gradient through the critic held constant (no dW computed) equal to the tape's through its trainable layers", () => {
    const spaces = { observationSpace: new Box(-1, 1, [3]).toSpec(), actionSpace: new Box(-2, 2, [2]).toSpec() };
    const actor = new SquashedGaussianActor(spaces, MODEL, 1, -1);
    const critic = new TwinCritic(spaces, MODEL, 2);
    const rng = new Rng(3);
    const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    try {
      let grads: Float32Array[] = [];
      tf.tidy(() => {
        const mb = { obs: tf.tensor2d(normal(24), [8, 3]), actions: tf.zeros([8, 2]) as tf.Tensor2D, qTarget: tf.zeros([8]) as tf.Tensor1D, noise: tf.tensor2d(normal(16), [8, 2]) };
        const criticP = critic.params.unpack();
        const viaTrainable = (p: Record<string, tf.Tensor>) => {
          const { action, logProb } = actor.sample(p, mb.obs, mb.noise);
          const [q1, q2] = critic.forward(criticP, mb.obs, action, 'train');
          const loss = tf.mean(tf.sub(tf.mul(0.3, logProb), tf.minimum(q1, q2))) as tf.Scalar;
          return { loss, metrics: {} };
        };
        grads = [tapeGradient((p) => actorLoss(actor, p, critic, criticP, mb, 0.3), actor.params), tapeGradient(viaTrainable, actor.params)].map((g) => {
          tf.dispose([g.loss, ...Object.values<tf.Tensor>(g.metrics)]); // kept out of the tape's scope
          return g.grad.dataSync() as Float32Array;
        });
      });
      const [frozen, trained] = grads;
      assertClose(frozen, trained, 1e-6, 'actor gradient');
      assert.ok(frozen.some((x) => Math.abs(x) > 1e-4), 'a gradient of zeros proves nothing');
    } finally {
      actor.dispose();
      critic.dispose();
    }
  });

  it('steps a target toward its network by tau (Polyak averaging): 0 -> 0.1 -> 0.19 toward 1 with tau 0.1; tau 1 copies', () => {
    const online = new FlatParams();
    online.add('w', [2], Float32Array.of(1, -2));
    const target = new FlatParams();
    target.add('w', [2], Float32Array.of(0, 0));
    try {
      softUpdate(target, online, 0.1);
      assertClose(target.variable.dataSync(), [0.1, -0.2], 1e-7, 'after one step');
      softUpdate(target, online, 0.1);
      assertClose(target.variable.dataSync(), [0.19, -0.38], 1e-7, 'after two');
      softUpdate(target, online, 1);
      assert.deepEqual(Array.from(target.variable.dataSync()), [1, -2]);
    } finally {
      online.dispose();
      target.dispose();
    }
  });

  it("raises the temperature while the policy's entropy is below its target and lowers it above (Adam's first step: +-lr in log alpha)", () => {
    for (const [entropy, sign] of [[-3, +1], [1, -1]] as const) {
      const logAlpha = new FlatParams();
      logAlpha.add('logAlpha', [1], Float32Array.of(0));
      const optimizer = new FusedAdam(1e-3, 0.9, 0.999, 1e-8);
      try {
        gradientStep((p) => alphaLoss(p.logAlpha, entropy, -1), logAlpha, optimizer, Infinity, { algorithm: 'sac', where: () => 'test' });
        assertClose(logAlpha.variable.dataSync(), [sign * 1e-3], 1e-7, `entropy ${entropy} vs target -1`);
      } finally {
        logAlpha.dispose();
        optimizer.dispose();
      }
    }
  });

  it('never acts outside the Box: extreme means and stds, the greedy mean and the warm-up, on bounds [-2, 2], [-1, 1] and [0, 5] x [-3, -1]', () => {
    const rng = new Rng(1);
    for (const space of [new Box(-2, 2, [1]), new Box(-1, 1, [2]), new Box([0, -3], [5, -1], [2])]) {
      const spec = sac.policySpec({ config: sac.configSchema.parse({}), model: MODEL, observationSpace: new Box(-1, 1, [3]).toSpec(), actionSpace: space.toSpec() });
      const policy = new SquashedGaussianPolicy(spec);
      try {
        // Huge weights: means of thousands, log-stds at both bounds.
        const weights = sac.weightShapes(spec).map(({ name, shape }) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 300) }));
        for (const [scalars, deterministic] of [[{}, false], [{}, true], [{ [UNIFORM_ACTIONS]: 1 }, false]] as const) {
          policy.setParams({ weights, scalars });
          const obs = Float32Array.from({ length: 3 * 500 }, () => rng.uniform(-1, 1));
          const act = envActions(space, actOn(policy, obs, 500, rng, deterministic).actions, spec.boxActions);
          for (let r = 0; r < 500; r++) {
            const row = act.subarray(r * space.size, (r + 1) * space.size);
            assert.ok(space.contains(row), `[${row}] left ${space.toString()} (${JSON.stringify(scalars)}, deterministic ${deterministic})`);
          }
        }
      } finally {
        policy.dispose();
      }
    }
  });

  it('holds each env’s draw for noiseRepeat steps and draws anew when they run out, at a zero state (an episode’s start) and when warm-up ends', () => {
    const config = sac.configSchema.parse({ noiseRepeat: 3 });
    const spec = sac.policySpec({ config, model: MODEL, observationSpace: new Box(-1, 1, [3]).toSpec(), actionSpace: new Box(-1, 1, [2]).toSpec() });
    assert.deepEqual(spec.state, [{ name: 'heldNoise', size: 4 }]);
    const policy = new SquashedGaussianPolicy(spec);
    const weights = sac.weightShapes(spec).map(({ name, shape }) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) })); // mean 0, log-std -1.5
    const rng = new Rng(2);
    const obs = new Float32Array(2 * 3);
    try {
      const run = (steps: number, uniform: boolean, state: Record<string, Float32Array>) => {
        policy.setParams({ weights, scalars: { [UNIFORM_ACTIONS]: uniform ? 1 : 0 } });
        const actions: number[][] = [];
        for (let t = 0; t < steps; t++) {
          const r = policy.act({ obs, numEnvs: 2, state, episodeStarts: new Uint8Array(2), mask: null, rng, deterministic: false });
          actions.push(Array.from(r.actions));
          state = r.state;
        }
        return { actions, state };
      };
      const first = run(7, false, { heldNoise: new Float32Array(8) });
      const changes = first.actions.map((a, t) => t > 0 && a.some((x, i) => x !== first.actions[t - 1][i]));
      assert.deepEqual(changes, [false, false, false, true, false, false, true]);
      assert.notDeepEqual(first.actions[0].slice(0, 2), first.actions[0].slice(2), 'each env draws its own');
      // One step left: a zero state (the stepper's at an episode start) draws anew at once; so does the end of warm-up.
      const again = run(1, false, { heldNoise: new Float32Array(8) });
      assert.notDeepEqual(again.actions[0], first.actions[6]);
      const warm = run(2, true, first.state);
      assert.ok(warm.actions[0].every((x, i) => x !== first.actions[6][i]) && String(warm.actions[1]) === String(warm.actions[0]), 'warm-up draws its own, held');
    } finally {
      policy.dispose();
    }
  });

  it('acts uniformly over the Box during warm-up, by the policy after it; and says uniformActions 1 until the run has received learningStarts env steps, a resumed run too', async () => {
    const algo = makeSac({ learningStarts: 40, batchSize: 8 });
    const worker = workerFor(algo);
    try {
      assert.equal(paramsOf(algo).scalars[UNIFORM_ACTIONS], 1);
      const b = worker.sample(); // 32 steps, uniform: tanh(u) spread over (-1, 1)
      const y = Array.from(b.actions, Math.tanh);
      assert.ok(Math.min(...y) < -0.7 && Math.max(...y) > 0.7, `squashed warm-up actions [${Math.min(...y)}, ${Math.max(...y)}]`);
      await algo.update([b]);
      assert.equal(algo.syncDue(), false, 'still warming up: nothing to send');
      await algo.update([worker.sample()]); // 64 >= 40: learning starts
      assert.equal(paramsOf(algo).scalars[UNIFORM_ACTIONS], 0);
      assert.equal(algo.syncDue(), true);
      // Resumed without its buffer: no second warm-up; gradient steps once the buffer holds a minibatch (8).
      const resumed = makeSac({ learningStarts: 40, batchSize: 8 }, 4);
      try {
        await resumed.setState(await algo.getState());
        assert.equal(paramsOf(resumed).scalars[UNIFORM_ACTIONS], 0);
        const four = transitionBatch({ length: 4, obs: new Float32Array(12), actions: new Float32Array(4), rewards: new Float32Array(4), nextObs: new Float32Array(3) });
        const m = await resumed.update([four]);
        assert.deepEqual([m.bufferSize, m.gradientSteps], [4, 0], 'a buffer of 4 < batchSize 8: no step yet');
        assert.equal((await resumed.update([worker.sample()])).gradientSteps, 32);
      } finally {
        resumed.dispose();
      }
    } finally {
      worker.close();
      algo.dispose();
    }
  });

  it('takes gradientSteps gradient steps per env step once learning starts, leaves no tensor behind, and changes the actor', async () => {
    const algo = makeSac({ learningStarts: 32, batchSize: 8, gradientSteps: 0.25 });
    const worker = workerFor(algo);
    try {
      await algo.update([worker.sample()]); // 32 steps: learning starts with this batch's 8 gradient steps
      const before = weightsOf(algo).map((w) => w.data);
      const tensors = tf.memory().numTensors;
      const m = await algo.update([worker.sample()]);
      assert.equal(tf.memory().numTensors, tensors, 'tensors alive after the update');
      assert.deepEqual([m.gradientSteps, m.totalGradientSteps, m.bufferSize], [8, 16, 64]);
      for (const k of ['criticLoss', 'actorLoss', 'entropy', 'qMean', 'alphaLoss', 'alpha']) assert.ok(Number.isFinite(m[k]), `${k} ${m[k]}`);
      assert.notDeepEqual(bits(weightsOf(algo).map((w) => w.data)), bits(before));
    } finally {
      worker.close();
      algo.dispose();
    }
  });

  it('resumes exactly: a state round trip (replay buffer, optimizers, temperature, generator) gives a bit-identical next update', async () => {
    const algo = makeSac({ learningStarts: 32, batchSize: 8, checkpointReplayBuffer: true });
    const worker = workerFor(algo);
    const copy = makeSac({ learningStarts: 32, batchSize: 8, checkpointReplayBuffer: true }, 99);
    try {
      await algo.update([worker.sample(), worker.sample()]);
      await copy.setState(await algo.getState());
      const next = worker.sample();
      const [m1, m2] = [await algo.update([next]), await copy.update([next])];
      assert.deepEqual(m2, m1);
      const state = (a: Sac) => a.getState().then((s) => ({ json: s.json, tensors: s.tensors.map((t) => [t.name, bits([t.data])[0]]) }));
      assert.deepEqual(await state(copy), await state(algo));
    } finally {
      worker.close();
      algo.dispose();
      copy.dispose();
    }
  });

  it('keeps the temperature fixed at alpha with learnAlpha false (and reports no alphaLoss)', async () => {
    const algo = makeSac({ learningStarts: 32, batchSize: 8, learnAlpha: false, alpha: 0.2 });
    const worker = workerFor(algo);
    try {
      const m = await algo.update([worker.sample(), worker.sample()]);
      assert.equal(m.alpha, 0.2);
      assert.equal(m.alphaLoss, undefined);
    } finally {
      worker.close();
      algo.dispose();
    }
  });

  it('takes learningStarts above bufferSize (the warm-up counts env steps over the run, not transitions held); refuses batchSize above it', () => {
    const ctx = { totalEnvs: 1, rolloutLength: 1 };
    assert.deepEqual(sac.check(sac.configSchema.parse({ learningStarts: 5000, bufferSize: 1000 }), ctx), []);
    assert.deepEqual(sac.check(sac.configSchema.parse({ batchSize: 2000, bufferSize: 1000 }), ctx), [{ path: 'batchSize', message: '(2000) must be <= bufferSize (1000)' }]);
  });

  it('refuses a Discrete action space, unbounded Box actions and conv layers, in one line naming what to do', () => {
    const opts = (actionSpace: Box | Discrete, model: ModelConfig = MODEL) => ({ config: sac.configSchema.parse({}), model, observationSpace: new Box(-1, 1, [3]).toSpec(), actionSpace: actionSpace.toSpec(), seed: 0, totalEnvs: 1, rolloutLength: 1 });
    assert.throws(() => sac.create(opts(new Discrete(4))), (e: Error) => e instanceof ConfigError && e.message === "algorithm: sac needs a Box action space; this env's actions are Discrete(4) (use dqn or ppo)");
    assert.throws(() => sac.create(opts(new Box(-Infinity, Infinity, [1]))), /algorithm: sac squashes actions into the Box's bounds, which must be finite; this env's are \[-Infinity\] to \[Infinity\] \(use ppo\)/);
    assert.throws(() => sac.create(opts(new Box(-1, 1, [1]), { ...MODEL, conv: [{ filters: 2, kernel: 2, stride: 1, padding: 'valid' }] })), /model.conv: sac reads vector observations/);
  });
});

describe('the replay buffer with Box actions', () => {
  /** One env, three steps of 2-dim actions; the episode terminates after step 2. */
  function boxBatch(): TrajectoryBatch {
    return transitionBatch({
      length: 3, obs: Float32Array.of(1, 2, 3), actions: Float32Array.of(0.5, -0.5, 1.5, -1.5, 2.5, -2.5), rewards: Float32Array.of(1, 2, 3),
      terminated: Uint8Array.of(0, 1, 0), nextObs: Float32Array.of(9), episodes: { returns: Float32Array.of(3), lengths: Int32Array.of(2) },
    });
  }

  it('stores float actions, two a row, and hands back the rows asked for; n-step transitions keep them as floats', () => {
    const t = nStepTransitions(boxBatch(), 1, 0.9, 'float32');
    assert.deepEqual(Array.from(t.actions), [0.5, -0.5, 1.5, -1.5, 2.5, -2.5]);
    assert.deepEqual(Array.from(t.discounts), [0.9, 0, 0.9].map(Math.fround));
    const buf = new ReplayBuffer<Float32Array>(4, 1, null, 'float32', { dtype: 'float32', size: 2 });
    buf.add(t);
    const got = buf.gather(Int32Array.of(2, 0));
    assert.ok(got.actions instanceof Float32Array);
    assert.deepEqual(Array.from(got.actions), [2.5, -2.5, 0.5, -0.5]);
    assert.deepEqual(Array.from(got.obs), [3, 1]);
  });

  it('round-trips through its checkpoint tensors ([capacity, 2] actions), and a buffer of another size is refused naming the key', () => {
    const buf = new ReplayBuffer<Float32Array>(4, 1, null, 'float32', { dtype: 'float32', size: 2 });
    buf.add(nStepTransitions(boxBatch(), 1, 0.9, 'float32'));
    const saved = buf.toState();
    assert.deepEqual(saved.tensors.find((x) => x.name === 'replay/actions')!.shape, [4, 2]);
    const back = new ReplayBuffer<Float32Array>(4, 1, null, 'float32', { dtype: 'float32', size: 2 });
    back.fromState(saved.tensors, saved.json, 'sac.bufferSize');
    assert.deepEqual([back.size, back.position, Array.from(back.actions)], [buf.size, buf.position, Array.from(buf.actions)]);
    const small = new ReplayBuffer<Float32Array>(2, 1, null, 'float32', { dtype: 'float32', size: 2 });
    assert.throws(() => small.fromState(saved.tensors, saved.json, 'sac.bufferSize'), /the checkpoint's replay buffer holds 4 transitions of 1 values; this run's holds 2 of 1 \(sac.bufferSize\)/);
  });

  it('refuses a checkpoint whose replay actions are of another size (2 a row into 3), naming replay/actions, before it changes anything', () => {
    const buf = new ReplayBuffer<Float32Array>(4, 1, null, 'float32', { dtype: 'float32', size: 2 });
    buf.add(nStepTransitions(boxBatch(), 1, 0.9, 'float32'));
    const saved = buf.toState();
    const wider = new ReplayBuffer<Float32Array>(4, 1, null, 'float32', { dtype: 'float32', size: 3 });
    assert.throws(
      () => wider.fromState(saved.tensors, saved.json, 'sac.bufferSize'),
      (e: Error) => e instanceof ConfigError && e.message === "the checkpoint's replay buffer holds 4 actions of 2 values (replay/actions); this run's holds 4 of 3 (sac.bufferSize)",
    );
    assert.deepEqual([wider.size, Array.from(wider.obs)], [0, [0, 0, 0, 0]]);
    const discrete = new ReplayBuffer<Int32Array>(4, 1, null, 'float32');
    assert.throws(() => discrete.fromState(saved.tensors, saved.json, 'dqn.bufferSize'), /holds 4 actions of 2 values \(replay\/actions\); this run's holds 4 of 1 \(dqn.bufferSize\)/);
  });
});
