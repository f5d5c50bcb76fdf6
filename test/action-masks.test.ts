import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { categorical } from '../algorithms/common/distributions';
import { masked, MASKED_VALUE } from '../algorithms/common/mask';
import { nStepTransitions } from '../algorithms/common/nstep';
import { ReplayBuffer } from '../algorithms/common/replay';
import { dqn, dqnConfigSchema } from '../algorithms/dqn/dqn';
import { qTargets } from '../algorithms/dqn/loss';
import { EPSILON } from '../algorithms/dqn/q-network';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { ACTION_MASK, DEFAULT_POLICY, type ModelConfig, type TrajectoryBatch } from '../core/algorithm';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import { selectBackend } from '../src/backend';
import { specOf, withWeights } from './helpers/policy-fixtures';

const model: ModelConfig = { hiddenSizes: [8], activation: 'tanh', sharedLayers: false };
const spaces = { observationSpace: new Box(-1, 1, [4]).toSpec(), actionSpace: new Discrete(3).toSpec(), actionMask: true };

/** Reads a tensor made in `fn` as plain numbers, freeing it. */
function read(fn: () => tf.Tensor): number[] {
  return Array.from(tf.tidy(fn).dataSync());
}

describe('action masks in the algorithms', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  describe('masked logits (PPO)', () => {
    // logits [1, 2, 3], action 1 illegal. Over the legal actions {0, 2}:
    // p(0) = e^1 / (e^1 + e^3) = 1 / (1 + e^2) = 0.1192029, p(2) = 0.8807971,
    // log p(0) = -ln(1 + e^2) = -2.1269280, log p(2) = -ln(1 + e^-2) = -0.1269280,
    // entropy = -(0.1192029 * -2.1269280 + 0.8807971 * -0.1269280) = 0.3653339.
    const logits = [[1, 2, 3]];
    const mask = [[1, 0, 1]];

    it('give an illegal action exactly zero probability and the legal ones their renormalised share', () => {
      const p = read(() => tf.softmax(masked(tf.tensor2d(logits), tf.tensor2d(mask))));
      assert.equal(p[1], 0);
      assert.ok(Math.abs(p[0] - 0.1192029) < 1e-6 && Math.abs(p[2] - 0.8807971) < 1e-6, `${p}`);
      assert.deepEqual(read(() => masked(tf.tensor2d(logits), tf.tensor2d(mask))), [1, MASKED_VALUE, 3], 'legal logits kept bit for bit');
    });

    it('give the log-probability and the entropy of the distribution over the legal actions, as worked out by hand', () => {
      for (const [action, logp] of [[0, -2.126928], [2, -0.126928]] as const) {
        const out = tf.tidy(() => {
          const e = categorical.evaluate(tf.tensor2d(logits), tf.oneHot(tf.tensor1d([action], 'int32'), 3).toFloat(), tf.tensor2d(mask));
          return [e.logProb.dataSync()[0], e.entropy.dataSync()[0]];
        });
        assert.ok(Math.abs(out[0] - logp) < 1e-5, `action ${action}: log-prob ${out[0]}, by hand ${logp}`);
        assert.ok(Math.abs(out[1] - 0.3653339) < 1e-5, `entropy ${out[1]}, by hand 0.3653339`);
      }
      // Unmasked, the same logits: entropy of softmax([1, 2, 3]) = 0.8323955; the mask changes it.
      const plain = read(() => categorical.evaluate(tf.tensor2d(logits), tf.tensor2d([[1, 0, 0]])).entropy);
      assert.ok(Math.abs(plain[0] - 0.8323955) < 1e-5, `${plain}`);
    });

    it('pass no gradient to an illegal logit (and no NaN anywhere), for log-probability and entropy alike', () => {
      const g = tf.tidy(() => {
        const f = (x: tf.Tensor) => {
          const e = categorical.evaluate(x, tf.tensor2d([[0, 0, 1]]), tf.tensor2d(mask));
          return tf.add(tf.sum(e.logProb), tf.sum(e.entropy)) as tf.Scalar;
        };
        return tf.grad(f)(tf.tensor2d(logits));
      });
      const grad = Array.from(g.dataSync());
      g.dispose();
      assert.equal(grad[1], 0);
      assert.ok(grad.every(Number.isFinite) && Math.abs(grad[0]) > 0.01, `${grad}`);
    });

    it("sample only legal actions, as often as their renormalised probabilities, with the log-probability the loss gives", () => {
      const rng = new Rng(1);
      const N = 20_000;
      const rowLogits = Float32Array.from({ length: N * 3 }, (_, i) => logits[0][i % 3]);
      const rowMask = Uint8Array.from({ length: N * 3 }, (_, i) => mask[0][i % 3]);
      const actions = new Float32Array(N);
      const logp = new Float32Array(N);
      categorical.sample(rowLogits, 3, rng, false, actions, logp, rowMask);
      const counts = [0, 0, 0];
      actions.forEach((a) => (counts[a] += 1));
      assert.equal(counts[1], 0, 'an illegal action was sampled');
      assert.ok(Math.abs(counts[0] / N - 0.1192) < 0.01, `p(0) ${counts[0] / N}`);
      const at = actions.indexOf(0);
      assert.ok(Math.abs(logp[at] - -2.126928) < 1e-5, `${logp[at]}`);
      const greedy = new Float32Array(1);
      categorical.sample(Float32Array.of(1, 9, 3), 3, rng, true, greedy, new Float32Array(1), Uint8Array.of(1, 0, 1));
      assert.equal(greedy[0], 2, 'the greedy action is the best legal one, not the best one');
    });

    it('a PPO policy never picks an action its mask forbids, sampled or greedy', () => {
      const config = ppoConfigSchema.parse({});
      const algo = ppo.create({ config, model, ...spaces, seed: 1, totalEnvs: 1, rolloutLength: 8 });
      const policy = ppo.createPolicy(specOf(algo));
      try {
        policy.setParams(algo.getParams()[DEFAULT_POLICY]);
        const rng = new Rng(2);
        const N = 500;
        const obs = Float32Array.from({ length: N * 4 }, () => rng.uniform(-1, 1));
        const mask = Uint8Array.from({ length: N * 3 }, (_, i) => (i % 3 === (Math.floor(i / 3) % 3) ? 1 : rng.int(2)));
        for (const deterministic of [false, true]) {
          const { actions } = policy.act({ obs, numEnvs: N, state: {}, episodeStarts: new Uint8Array(N), mask, rng, deterministic });
          actions.forEach((a, r) => assert.equal(mask[r * 3 + a], 1, `row ${r}: action ${a}, mask ${mask.subarray(r * 3, r * 3 + 3)}`));
        }
      } finally {
        policy.dispose();
        algo.dispose();
      }
    });
  });

  describe('masked Q-learning (DQN)', () => {
    // Q_target(s', .) = [1, 5, 2] and [4, 0, 3]; legal in s': {0, 2} and {1, 2}; r = [1, 0], discount [0.5, 0.9].
    // Max over the legal actions: 2 and 3 (not 5 and 4): targets 1 + 0.5 * 2 = 2 and 0.9 * 3 = 2.7.
    // Double Q with Q_online(s', .) = [0, 9, 1] and [7, 0, 2]: legal argmax 2 and 2 (not 1 and 0),
    // valued by the target network at 2 and 3: the same targets, 2 and 2.7.
    const targetQ = [[1, 5, 2], [4, 0, 3]];
    const onlineQ = [[0, 9, 1], [7, 0, 2]];
    const nextMask = [[1, 0, 1], [0, 1, 1]];
    const targets = (online: number[][] | null, m: number[][] | null) =>
      read(() => qTargets(tf.tensor1d([1, 0]), tf.tensor1d([0.5, 0.9]), tf.tensor2d(targetQ), online && tf.tensor2d(online), m && tf.tensor2d(m))).map((x) => +x.toFixed(5));

    it("takes the target's max over the next state's legal actions only, as worked out by hand", () => {
      assert.deepEqual(targets(null, nextMask), [2, 2.7]);
      assert.deepEqual(targets(null, null), [3.5, 3.6], 'unmasked, the illegal 5 and 4 would be the max');
    });

    it("takes double Q's argmax over the next state's legal actions only, as worked out by hand", () => {
      assert.deepEqual(targets(onlineQ, nextMask), [2, 2.7]);
      assert.deepEqual(targets(onlineQ, null), [3.5, 3.6]);
    });

    it("gives each transition its bootstrap state's mask: the next row's, the final one's after a truncation, nextMasks.next at the batch's end, all ones after a termination", () => {
      // One env, four steps, 2 actions; the mask recorded at step t is [t % 2, 1]. Step 1 is truncated, step 2 terminates.
      const rows = Uint8Array.from([0, 1, 1, 1, 0, 1, 1, 1]);
      const batch: TrajectoryBatch = {
        workerId: 0, seq: 0, policyId: DEFAULT_POLICY, policyVersion: 0, numEnvs: 1, length: 4,
        obs: Float32Array.of(0, 1, 2, 3), actions: Float32Array.of(1, 0, 1, 0), rewards: new Float32Array(4),
        terminated: Uint8Array.of(0, 0, 1, 0), truncated: Uint8Array.of(0, 1, 0, 0),
        columns: { [ACTION_MASK]: rows }, state: {},
        nextObs: Float32Array.of(9), finalObs: { index: Int32Array.of(1), obs: Float32Array.of(7) },
        nextMasks: { next: Uint8Array.of(1, 0), final: Uint8Array.of(0, 1) },
        episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
      };
      const t = nStepTransitions(batch, 1, 0.9);
      assert.deepEqual(Array.from(t.nextMasks!), [1, 1, 0, 1, 1, 1, 1, 0]);
      const buffer = new ReplayBuffer(8, 1, null, 'float32', { dtype: 'int32' }, 2);
      buffer.add(t);
      assert.deepEqual(Array.from(buffer.gather(Int32Array.of(3, 0)).nextMasks!), [1, 0, 1, 1], 'the replay buffer keeps them with their rows');
    });

    it('a DQN policy picks its greedy action among the legal ones, and its random ones among the legal ones only', () => {
      const config = dqnConfigSchema.parse({});
      const algo = dqn.create({ config, model, ...spaces, seed: 1, totalEnvs: 1, rolloutLength: 8, totalEnvSteps: 1000 });
      const policy = dqn.createPolicy(specOf(algo));
      try {
        const rng = new Rng(3);
        const N = 600;
        const obs = Float32Array.from({ length: N * 4 }, () => rng.uniform(-1, 1));
        const mask = new Uint8Array(N * 3);
        for (let r = 0; r < N; r++) mask.set([[1, 0, 1], [0, 1, 0], [0, 1, 1]][r % 3], r * 3);
        const greedyOf = (eps: number) => {
          policy.setParams(withWeights(algo.getParams()[DEFAULT_POLICY].weights, { [EPSILON]: eps }));
          return policy.act({ obs, numEnvs: N, state: {}, episodeStarts: new Uint8Array(N), mask, rng, deterministic: false }).actions;
        };
        for (const eps of [0, 1]) {
          const actions = greedyOf(eps);
          actions.forEach((a, r) => assert.equal(mask[r * 3 + a], 1, `epsilon ${eps}, row ${r}: action ${a}`));
          if (eps === 1) assert.deepEqual([...new Set(Array.from(actions).filter((_, r) => r % 3 === 0))].sort(), [0, 2], 'both legal actions drawn');
        }
      } finally {
        policy.dispose();
        algo.dispose();
      }
    });
  });
});
