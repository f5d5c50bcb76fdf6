import { z } from 'zod';
import {
  DEFAULT_POLICY,
  policySpecOf,
  weightsFromState,
  weightsToState,
  type ActInput,
  type ActResult,
  type Algorithm,
  type AlgorithmModule,
  type AlgorithmState,
  type NamedTensor,
  type ParamsById,
  type PolicyParams,
  type PolicySpec,
  type SamplingPolicy,
  type TensorShape,
  type TrajectoryBatch,
  type Weights,
} from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import { Box, Discrete } from '../../core/spaces';
import type { Env, StepResult } from '../../envs/env';

/**
 * A third algorithm written only for the tests, to prove the seam: everything it is lives in
 * this file and one `registerAlgorithm` line. It is a softmax policy over a tiny MLP (one
 * hidden layer) written in plain TypeScript, with
 *  - a recurrent state: a counter per env, +1 a step, zero at each episode's start;
 *  - a declared column `counter` (float32, per step: the counter the step acted from) and
 *    `logits` (float32, [n] per step);
 *  - action masks: illegal actions get probability 0;
 *  - an update that moves the head's bias towards the actions taken, weighted by reward.
 * Its learner holds no tfjs tensor at all (the conformance suite's leak check still applies).
 */
export const toyConfigSchema = z
  .object({
    lr: z.number().positive().default(0.1).describe('step size of the bias update'),
  })
  .strict();
export type ToyConfig = z.infer<typeof toyConfigSchema>;

const HIDDEN = 'toy/0';
const HEAD = 'toy/out';

function sizes(spec: Pick<PolicySpec, 'observationSpace' | 'actionSpace' | 'model'>): { obs: number; hidden: number; actions: number } {
  const obs = spec.observationSpace.type === 'Box' ? spec.observationSpace.shape.reduce((a, d) => a * d, 1) : 1;
  if (spec.actionSpace.type !== 'Discrete') throw new ConfigError(`algorithm: toy needs a Discrete action space; this env's actions are Box(shape=[${spec.actionSpace.shape}])`);
  return { obs, hidden: spec.model.hiddenSizes[0], actions: spec.actionSpace.n };
}

function shapesOf(spec: PolicySpec): TensorShape[] {
  const s = sizes(spec);
  return [
    { name: `${HIDDEN}/w`, shape: [s.obs, s.hidden] },
    { name: `${HIDDEN}/b`, shape: [s.hidden] },
    { name: `${HEAD}/w`, shape: [s.hidden, s.actions] },
    { name: `${HEAD}/b`, shape: [s.actions] },
  ];
}

/** Seeded small weights; the head's bias starts at zero. */
function initialWeights(spec: PolicySpec, seed: number): Weights {
  let x = seed >>> 0 || 1;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.5;
  return shapesOf(spec).map((t) => {
    const n = t.shape.reduce((a, d) => a * d, 1);
    return { name: t.name, shape: t.shape, data: t.name === `${HEAD}/b` ? new Float32Array(n) : Float32Array.from({ length: n }, next) };
  });
}

/** logits [numEnvs * n] of the MLP (tanh or relu hidden layer, linear head), float64 sums. */
function logitsOf(spec: PolicySpec, w: Map<string, NamedTensor>, obs: ArrayLike<number>, numEnvs: number): Float32Array {
  const s = sizes(spec);
  const out = new Float32Array(numEnvs * s.actions);
  const h = new Float64Array(s.hidden);
  const [w0, b0, w1, b1] = [`${HIDDEN}/w`, `${HIDDEN}/b`, `${HEAD}/w`, `${HEAD}/b`].map((k) => w.get(k)!.data);
  for (let e = 0; e < numEnvs; e++) {
    for (let j = 0; j < s.hidden; j++) {
      let v = b0[j];
      for (let i = 0; i < s.obs; i++) v += obs[e * s.obs + i] * w0[i * s.hidden + j];
      h[j] = spec.model.activation === 'tanh' ? Math.tanh(v) : Math.max(0, v);
    }
    for (let a = 0; a < s.actions; a++) {
      let v = b1[a];
      for (let j = 0; j < s.hidden; j++) v += h[j] * w1[j * s.actions + a];
      out[e * s.actions + a] = v;
    }
  }
  return out;
}

class ToyPolicy implements SamplingPolicy {
  private weights = new Map<string, NamedTensor>();

  constructor(private readonly spec: PolicySpec) {}

  act({ obs, numEnvs, state, mask, rng, deterministic }: ActInput): ActResult {
    const n = sizes(this.spec).actions;
    const logits = logitsOf(this.spec, this.weights, obs, numEnvs);
    const actions = new Float32Array(numEnvs);
    const counter = new Float32Array(numEnvs);
    const next = new Float32Array(numEnvs);
    for (let e = 0; e < numEnvs; e++) {
      const legal = (a: number) => !mask || mask[e * n + a] === 1;
      let best = -1;
      for (let a = 0; a < n; a++) if (legal(a) && (best < 0 || logits[e * n + a] > logits[e * n + best])) best = a;
      let pick = best;
      if (!deterministic) {
        let total = 0;
        const p = new Float64Array(n);
        for (let a = 0; a < n; a++) total += p[a] = legal(a) ? Math.exp(logits[e * n + a] - logits[e * n + best]) : 0;
        let u = rng.random() * total;
        for (let a = 0; a < n; a++) if (p[a] > 0 && (u -= p[a]) < 0) { pick = a; break; }
      }
      actions[e] = pick;
      counter[e] = state.counter[e];
      next[e] = state.counter[e] + 1;
    }
    return { actions, columns: { counter, logits }, state: { counter: next } };
  }

  setParams({ weights }: PolicyParams): void {
    this.weights = new Map(weights.map((w) => [w.name, w]));
  }

  dispose(): void {}
}

class Toy implements Algorithm {
  readonly schedule = { mode: 'sync' as const, trainBatchSize: 1, maxPolicyLag: 0 };
  readonly metrics = [{ key: 'meanReward', group: 'train', reduce: 'mean' as const, label: 'r' }];
  private weights: Weights;
  private updates = 0;

  constructor(private readonly spec: PolicySpec, private readonly cfg: ToyConfig, seed: number) {
    this.weights = initialWeights(spec, seed + 1);
  }

  policySpecs(): Record<string, PolicySpec> {
    return { [DEFAULT_POLICY]: this.spec };
  }

  getParams(): ParamsById {
    return { [DEFAULT_POLICY]: { weights: this.weights.map((w) => ({ ...w, data: w.data.slice() })), scalars: { updates: this.updates } } };
  }

  async update(batches: TrajectoryBatch[]): Promise<Record<string, number>> {
    const bias = this.weights.find((w) => w.name === `${HEAD}/b`)!.data;
    let rewardSum = 0;
    let rows = 0;
    for (const b of batches) {
      for (let r = 0; r < b.actions.length; r++) {
        bias[b.actions[r]] += (this.cfg.lr * (b.rewards[r] - 0.5)) / b.actions.length;
        rewardSum += b.rewards[r];
      }
      rows += b.actions.length;
    }
    this.updates += 1;
    return { meanReward: rewardSum / Math.max(1, rows) };
  }

  async getState(): Promise<AlgorithmState> {
    return { tensors: weightsToState(this.weights), json: { updates: this.updates } };
  }

  async setState(state: AlgorithmState): Promise<void> {
    this.weights = weightsFromState(state).map((w) => ({ ...w, data: w.data.slice() }));
    this.updates = state.json.updates as number;
  }

  dispose(): void {}
}

export const toy: AlgorithmModule<ToyConfig> = {
  name: 'toy',
  configSchema: toyConfigSchema,
  actionMasks: true,
  check: () => [],
  create: (opts) => new Toy(toy.policySpec(opts), opts.config, opts.seed),
  policySpec: (opts) =>
    policySpecOf(opts, {
      algorithm: 'toy',
      columns: [
        { name: 'counter', dtype: 'float32', shape: [] },
        { name: 'logits', dtype: 'float32', shape: [opts.actionSpace.type === 'Discrete' ? opts.actionSpace.n : 1] },
      ],
      state: [{ name: 'counter', size: 1 }],
    }),
  createPolicy: (spec) => new ToyPolicy(spec),
  weightShapes: shapesOf,
  greedyPath: (_spec, weight) => {
    const w = weight(`${HEAD}/w`);
    return { body: 'toy', head: { kind: 'logits', inputs: w.shape[0], outputs: w.shape[1], w: w.data, b: weight(`${HEAD}/b`).data } };
  },
};

/**
 * A corridor of `length` cells with action masks: 0 left, 1 stay, 2 right; left is illegal in
 * the first cell and right in the last. Reaching the last cell pays 1 and ends the episode.
 * The observation is [position / length, 1] (float32).
 */
export class MaskedCorridor implements Env {
  readonly observationSpace = new Box(0, 1, [2]);
  readonly actionSpace = new Discrete(3);
  private position = 0;

  constructor(private readonly length = 6) {}

  reset(): { obs: Float32Array; info: Record<string, unknown> } {
    this.position = 0;
    return { obs: this.obs(), info: {} };
  }

  step(action: number | Float32Array): StepResult {
    this.position = Math.min(this.length - 1, Math.max(0, this.position + (action as number) - 1));
    const done = this.position === this.length - 1;
    return { obs: this.obs(), reward: done ? 1 : 0, terminated: done, truncated: false, info: {} };
  }

  actionMask(): Uint8Array {
    return Uint8Array.of(this.position > 0 ? 1 : 0, 1, this.position < this.length - 1 ? 1 : 0);
  }

  getState(): unknown {
    return { position: this.position };
  }

  setState(s: unknown): void {
    this.position = (s as { position: number }).position;
  }

  close(): void {}

  private obs(): Float32Array {
    return Float32Array.of(this.position / this.length, 1);
  }
}
