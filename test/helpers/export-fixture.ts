import * as tf from '@tensorflow/tfjs';
import { DEFAULT_POLICY, weightsToState, type ModelConfig, type PolicySpec, type Weights } from '../../core/algorithm';
import { Rng } from '../../core/rng';
import { spaceFromSpec } from '../../core/spaces';
import { algorithms } from '../../algorithms';
import type { ActorCritic, ActorCriticPolicy } from '../../algorithms/ppo/actor-critic';
import { QNetwork } from '../../algorithms/dqn/q-network';
import { SquashedGaussianActor } from '../../algorithms/sac/networks';
import { envActions } from '../../envs/stepper';
import { actOn } from './policy-fixtures';
import { Box, Discrete, registerEnv, type Env } from '../../envs';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint';
import { validateConfig } from '../../src/config/load';
import { createEnv } from '../../src/env-loader';
import { PACKAGE_VERSION } from '../../src/version';

/**
 * Small untrained PPO, DQN and SAC policies with random weights, saved as real checkpoints, and the
 * project's own answers for them: the greedy actions `rl evaluate` steps the env with (Box
 * actions clipped to the bounds, or squashed and scaled for SAC, as evaluatePolicy does: the
 * stepper's `envActions`) and the raw head of the network's forward.
 */
export interface PolicyCase {
  label: string;
  algorithm: 'ppo' | 'dqn' | 'sac';
  envId: string;
  /** The env's config (`env.config`), observation wrappers included. */
  envConfig?: Record<string, unknown>;
  model: Partial<ModelConfig>;
  algoConfig?: Record<string, unknown>;
  conv: boolean;
}

/** Atari-like frames for the export cases: 6x6x2 uint8 pixels 0..255 (the networks read them / 255), noise. */
class Frames implements Env {
  readonly observationSpace = new Box(0, 255, [6, 6, 2], 'uint8');
  readonly actionSpace = new Discrete(3);
  private rng = new Rng(0);

  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    return { obs: this.frame(), info: {} };
  }

  step() {
    return { obs: this.frame(), reward: 0, terminated: false, truncated: false, info: {} };
  }

  close(): void {}

  private frame(): Uint8Array {
    return Uint8Array.from({ length: 72 }, () => this.rng.int(256));
  }
}

const FRAMES = 'test/ExportFrames-v0';
registerEnv(FRAMES, () => new Frames());

export const POLICY_CASES: PolicyCase[] = [
  { label: 'PPO discrete MLP (CartPole-v1, separate towers, tanh)', algorithm: 'ppo', envId: 'CartPole-v1', model: { hiddenSizes: [32, 16], activation: 'tanh' }, conv: false },
  { label: 'PPO discrete MLP (Acrobot-v1, shared layers, relu)', algorithm: 'ppo', envId: 'Acrobot-v1', model: { hiddenSizes: [24], activation: 'relu', sharedLayers: true }, conv: false },
  { label: 'PPO continuous MLP (Pendulum-v1)', algorithm: 'ppo', envId: 'Pendulum-v1', model: { hiddenSizes: [32, 32], activation: 'tanh' }, conv: false },
  { label: 'DQN MLP (CartPole-v1)', algorithm: 'dqn', envId: 'CartPole-v1', model: { hiddenSizes: [32, 32], activation: 'relu' }, conv: false },
  { label: 'DQN dueling MLP (LunarLander-v3)', algorithm: 'dqn', envId: 'LunarLander-v3', model: { hiddenSizes: [32], activation: 'tanh' }, algoConfig: { dueling: true }, conv: false },
  { label: 'PPO conv (Catch, valid padding)', algorithm: 'ppo', envId: 'Catch', model: { hiddenSizes: [16], activation: 'relu', conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'valid' }] }, conv: true },
  {
    label: 'DQN conv (Snake-v0, 3 channels, same padding, stride 2, dueling)',
    algorithm: 'dqn',
    envId: 'Snake-v0',
    model: { hiddenSizes: [16], activation: 'relu', conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'same' }, { filters: 6, kernel: 3, stride: 2, padding: 'same' }] },
    algoConfig: { dueling: true },
    conv: true,
  },
  {
    label: 'PPO conv on uint8 frames (MinAtar/Breakout-v0, two stacked: 10 x 10 x 8 binary planes)',
    algorithm: 'ppo',
    envId: 'MinAtar/Breakout-v0',
    envConfig: { wrappers: [{ frameStack: 2 }] },
    model: { hiddenSizes: [16], activation: 'relu', conv: [{ filters: 8, kernel: 3, stride: 1, padding: 'valid' }] },
    conv: true,
  },
  {
    label: 'DQN conv on uint8 frames (MinAtar/SpaceInvaders-v0, 10 x 10 x 6 binary planes, same padding)',
    algorithm: 'dqn',
    envId: 'MinAtar/SpaceInvaders-v0',
    model: { hiddenSizes: [16], activation: 'relu', conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'same' }] },
    conv: true,
  },
  { label: 'PPO masked MLP (TicTacToe-v0, action masks)', algorithm: 'ppo', envId: 'TicTacToe-v0', model: { hiddenSizes: [32], activation: 'tanh' }, conv: false },
  { label: 'DQN masked MLP (TicTacToe-v0, action masks, dueling)', algorithm: 'dqn', envId: 'TicTacToe-v0', model: { hiddenSizes: [32], activation: 'relu' }, algoConfig: { dueling: true }, conv: false },
  { label: 'SAC squashed Gaussian MLP (Pendulum-v1, bounds [-2, 2])', algorithm: 'sac', envId: 'Pendulum-v1', model: { hiddenSizes: [32, 32], activation: 'relu' }, conv: false },
  { label: 'SAC squashed Gaussian MLP (LunarLanderContinuous-v3, 2-dim actions, tanh)', algorithm: 'sac', envId: 'LunarLanderContinuous-v3', model: { hiddenSizes: [24], activation: 'tanh' }, conv: false },
  { label: 'PPO MLP on uint8 frames 0..255 (scaled by 1/255)', algorithm: 'ppo', envId: FRAMES, model: { hiddenSizes: [16], activation: 'relu' }, conv: false },
  { label: 'DQN conv on uint8 frames 0..255 (scaled by 1/255)', algorithm: 'dqn', envId: FRAMES, model: { hiddenSizes: [16], activation: 'relu', conv: [{ filters: 4, kernel: 3, stride: 2, padding: 'valid' }] }, conv: true },
];

/** Recurrent PPO policies: the state carried by every export (ONNX and tfjs inputs h, c; the JS module's step). */
export const RECURRENT_CASES: PolicyCase[] = [
  { label: 'PPO LSTM (CartPoleNoVel-v1, separate towers, tanh)', algorithm: 'ppo', envId: 'CartPoleNoVel-v1', model: { hiddenSizes: [16], activation: 'tanh', recurrent: { type: 'lstm', size: 12 } }, conv: false },
  { label: 'PPO GRU (PendulumNoVel-v1, Box actions, shared layers, relu)', algorithm: 'ppo', envId: 'PendulumNoVel-v1', model: { hiddenSizes: [16], activation: 'relu', sharedLayers: true, recurrent: { type: 'gru', size: 10 } }, conv: false },
  { label: 'PPO LSTM after a conv layer on uint8 frames 0..255 (scaled by 1/255)', algorithm: 'ppo', envId: FRAMES, model: { hiddenSizes: [8], activation: 'relu', conv: [{ filters: 4, kernel: 3, stride: 2, padding: 'valid' }], recurrent: { type: 'lstm', size: 6 } }, conv: true },
  { label: 'PPO GRU with action masks (TicTacToe-v0)', algorithm: 'ppo', envId: 'TicTacToe-v0', model: { hiddenSizes: [16], activation: 'tanh', recurrent: { type: 'gru', size: 8 } }, conv: false },
];

/**
 * A recurrent policy acting as `rl evaluate` steps it, over `steps` steps of `n` envs: per step,
 * the observations [n * obsSize], where episodes start (state zeroed there), the masks (or null),
 * the greedy actions as the env takes them, the raw heads (by the learner's network, from the
 * same state) and the state the step acted from (per entry, [n * size]).
 */
export interface RecurrentSteps {
  obs: Float32Array[];
  starts: Uint8Array[];
  masks: (Uint8Array | null)[];
  actions: Float32Array[];
  heads: Float32Array[];
  states: Record<string, Float32Array>[];
}

export interface SavedPolicy {
  dir: string;
  spec: PolicySpec;
  weights: Weights;
  /** `n` seeded observations of the env's space, [n * obsSize] (a uint8 space's bytes as floats). */
  observations(n: number, seed: number): Float32Array;
  /** `n` seeded action masks of a Discrete space, [n * actionSize]: each action legal with probability 1/2, one at least. */
  masks(n: number, seed: number): Uint8Array;
  /**
   * The project's greedy actions (Box: clipped) and raw head for `obs`: [n] or [n * actionSize],
   * and [n * actionSize]; with `mask`, the actions `rl evaluate` takes under it. A uint8 space's
   * observations reach the policy as bytes, as the env gives them.
   */
  reference(obs: Float32Array, n: number, mask?: Uint8Array | null): { actions: Float32Array; head: Float32Array };
  /** A recurrent policy's steps (`RecurrentSteps`), seeded: episodes start at the first step and then with probability 0.1 per env and step. */
  steps(steps: number, n: number, seed: number): RecurrentSteps;
}

/** Builds the case's algorithm, gives it random weights (biases and heads too), and saves a checkpoint in `runDir`. */
export function savePolicy(runDir: string, c: PolicyCase, seed = 7): SavedPolicy {
  const cfg = validateConfig({ algorithm: c.algorithm, seed, env: { id: c.envId, config: c.envConfig ?? {} }, model: c.model, stop: { envSteps: 1000 }, [c.algorithm]: c.algoConfig ?? {} });
  const env = createEnv(c.envId, c.envConfig);
  const observationSpace = env.observationSpace.toSpec();
  const actionSpace = env.actionSpace.toSpec();
  const actionMask = typeof env.actionMask === 'function';
  env.close();
  const model = cfg.model as ModelConfig;
  const module = algorithms[c.algorithm];
  const algo = module.create({ config: cfg[c.algorithm], model, observationSpace, actionSpace, actionMask, seed, totalEnvs: 1, rolloutLength: 8 });
  const rng = new Rng(seed);
  const weights = algo.getParams()[DEFAULT_POLICY].weights.map((w) => ({ ...w, data: Float32Array.from(w.data, () => rng.normal() * (w.shape.length === 2 ? 1.5 / Math.sqrt(w.shape[0]) : 0.3)) }));
  algo.dispose();
  const dir = saveCheckpoint(
    runDir,
    {
      metadata: {
        formatVersion: CHECKPOINT_FORMAT,
        packageVersion: PACKAGE_VERSION,
        algorithm: c.algorithm,
        envId: c.envId,
        iteration: 1,
        envSteps: 0,
        wallSeconds: 0,
        time: new Date(0).toISOString(),
        episodeReturnMean: null,
        config: cfg,
      },
      algorithm: { tensors: weightsToState(weights), json: {} },
      runtime: {},
    },
    1,
  );
  const spec: PolicySpec = module.policySpec({ config: cfg[c.algorithm], model, observationSpace, actionSpace, actionMask });
  const obsSpace = spaceFromSpec(observationSpace);
  const obsSize = obsSpace.type === 'Box' ? obsSpace.size : 1;
  const uint8 = obsSpace.type === 'Box' && obsSpace.dtype === 'uint8';
  const binary = obsSpace.type === 'Box' && uint8 && obsSpace.high.every((h) => h === 1);
  return {
    dir,
    spec,
    weights,
    observations(n, obsSeed) {
      const r = new Rng(obsSeed);
      const out = new Float32Array(n * obsSize);
      const pixel = binary ? () => Number(r.random() < 1 / 3) : () => r.random();
      for (let i = 0; i < n; i++) {
        // uint8 planes (high 1): 0 or 1, a third lit; float images: pixels uniform in [0, 1]; other boxes (uint8 pictures 0..255 too): the space's own sample (normal where unbounded).
        const o = binary || (c.conv && !uint8) ? Float32Array.from({ length: obsSize }, pixel) : (obsSpace.sample(r) as Float32Array);
        out.set(o, i * obsSize);
      }
      return out;
    },
    masks(n, maskSeed) {
      const r = new Rng(maskSeed);
      const k = actionSpace.type === 'Discrete' ? actionSpace.n : 0;
      const out = Uint8Array.from({ length: n * k }, () => r.int(2));
      for (let i = 0; i < n; i++) out[i * k + r.int(k)] = 1;
      return out;
    },
    reference(obs, n, mask = null) {
      const policy = module.createPolicy(spec);
      try {
        policy.setParams({ weights, scalars: {} });
        const x = uint8 ? Uint8Array.from(obs) : obs;
        const raw = mask ? policy.act({ obs: x, numEnvs: n, state: {}, episodeStarts: new Uint8Array(n), mask, rng: new Rng(0), deterministic: true }).actions : actOn(policy, x, n, new Rng(0), true).actions;
        const actions = envActions(spaceFromSpec(actionSpace), raw, spec.boxActions);
        let head: Float32Array;
        if (c.algorithm === 'sac') {
          const net = new SquashedGaussianActor(spec, model, 0, 0);
          net.setWeights(weights);
          head = tf.tidy(() => net.forward(net.params.unpack(), tf.tensor2d(obs, [n, obsSize])).mean.dataSync() as Float32Array);
          net.dispose();
        } else if (c.algorithm === 'ppo') {
          const net = (policy as ActorCriticPolicy).net as ActorCritic;
          head = tf.tidy(() => net.forward(tf.tensor2d(obs, [n, obsSize])).pi.dataSync() as Float32Array);
        } else {
          const net = new QNetwork(spec, model, (cfg.dqn as { dueling: boolean }).dueling, 0);
          net.setWeights(weights);
          head = tf.tidy(() => net.forward(net.params.unpack(), tf.tensor2d(obs, [n, obsSize]), true).dataSync() as Float32Array);
          net.dispose();
        }
        return { actions, head };
      } finally {
        policy.dispose();
      }
    },
    steps(steps, n, stepSeed) {
      const policy = module.createPolicy(spec);
      const r = new Rng(stepSeed);
      const out: RecurrentSteps = { obs: [], starts: [], masks: [], actions: [], heads: [], states: [] };
      try {
        policy.setParams({ weights, scalars: {} });
        const net = (policy as ActorCriticPolicy).net as ActorCritic;
        let state: Record<string, Float32Array> = Object.fromEntries(spec.state.map((e) => [e.name, new Float32Array(n * e.size)]));
        for (let t = 0; t < steps; t++) {
          const obs = this.observations(n, r.int(1e9));
          const starts = Uint8Array.from({ length: n }, () => (t === 0 || r.random() < 0.1 ? 1 : 0));
          for (const e of spec.state) starts.forEach((st, i) => st && state[e.name].fill(0, i * e.size, (i + 1) * e.size)); // as the stepper zeroes it
          const mask = spec.actionMask ? this.masks(n, r.int(1e9)) : null;
          const x = uint8 ? Uint8Array.from(obs) : obs;
          const act = policy.act({ obs: x, numEnvs: n, state, episodeStarts: starts, mask, rng: new Rng(0), deterministic: true });
          const head = tf.tidy(() => {
            const from = spec.state.map((e) => tf.tensor2d(state[e.name], [n, e.size]));
            return net.forwardStep(tf.tensor2d(x, [n, obsSize], uint8 ? 'int32' : 'float32'), from).pi;
          });
          out.heads.push(head.dataSync() as Float32Array);
          head.dispose();
          out.obs.push(obs);
          out.starts.push(starts);
          out.masks.push(mask);
          out.actions.push(envActions(spaceFromSpec(actionSpace), act.actions, spec.boxActions));
          out.states.push(state);
          state = act.state;
        }
        return out;
      } finally {
        policy.dispose();
      }
    },
  };
}
