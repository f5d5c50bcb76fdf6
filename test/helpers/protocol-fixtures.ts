import { DEFAULT_POLICY, type PolicyParams, type PolicySpec, type TrajectoryBatch, type Weights } from '../../core/algorithm';
import { PROTOCOL_VERSION, type LearnerMessage, type WorkerMessage, type WorkerSetup } from '../../src/transport/protocol';

/** Valid messages of every type, for the protocol's round-trip, rejection and fuzz tests. */

/** A PPO-like spec of CartPole: Box(4) observations, Discrete(2) actions, `logp` and `value` recorded per step. */
export function makeSpec(): PolicySpec {
  return {
    algorithm: 'ppo',
    policyId: DEFAULT_POLICY,
    observationSpace: { type: 'Box', shape: [4], low: [-4.8, -Infinity, -0.42, -Infinity], high: [4.8, Infinity, 0.42, Infinity] },
    actionSpace: { type: 'Discrete', n: 2 },
    actionMask: false,
    model: { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false },
    config: { clipRange: 0.2, minibatchSize: 64 },
    columns: [
      { name: 'logp', dtype: 'float32', shape: [] },
      { name: 'value', dtype: 'float32', shape: [] },
    ],
    state: [],
    boxActions: 'clip',
  };
}

/** 4 envs x 8 steps of a 4-float observation, with two truncated episodes and three finished ones. */
export function makeBatch(): TrajectoryBatch {
  const rows = 4 * 8;
  const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => (i - n / 2) * scale);
  const truncated = new Uint8Array(rows);
  truncated[5] = 1;
  truncated[30] = 1;
  const terminated = new Uint8Array(rows);
  terminated[9] = 1;
  return {
    workerId: 2,
    seq: 7,
    policyId: DEFAULT_POLICY,
    policyVersion: 3,
    numEnvs: 4,
    length: 8,
    obs: ramp(rows * 4, 0.01),
    actions: Float32Array.from({ length: rows }, (_, i) => i % 2),
    rewards: new Float32Array(rows).fill(1),
    terminated,
    truncated,
    columns: { logp: ramp(rows, -0.02), value: ramp(rows, 0.5) },
    state: {},
    nextObs: ramp(16, 0.1),
    finalObs: { index: Int32Array.from([5, 30]), obs: ramp(8, 0.3) },
    nextMasks: null,
    episodes: { returns: Float32Array.from([12, 200, 9.5]), lengths: Int32Array.from([12, 200, 10]) },
  };
}

/**
 * A batch of what a replay buffer reads, given: `length` steps of `numEnvs` envs (1 unless
 * given), their observations, actions, rewards and next observations, and any other field to
 * set; the rest empty: no termination or truncation, columns, state, final observations or
 * finished episodes.
 */
export function transitionBatch(b: Pick<TrajectoryBatch, 'length' | 'obs' | 'actions' | 'rewards' | 'nextObs'> & Partial<TrajectoryBatch>): TrajectoryBatch {
  const rows = (b.numEnvs ?? 1) * b.length;
  return {
    workerId: 0,
    seq: 0,
    policyId: DEFAULT_POLICY,
    policyVersion: 0,
    numEnvs: 1,
    terminated: new Uint8Array(rows),
    truncated: new Uint8Array(rows),
    columns: {},
    state: {},
    finalObs: { index: new Int32Array(0), obs: new Float32Array(0) },
    nextMasks: null,
    episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
    ...b,
  };
}

export function makeWeights(): Weights {
  return [
    { name: 'pi/w', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    { name: 'pi/b', shape: [3], data: Float32Array.from([0.5, -0.25, 0]) },
    { name: 'logStd', shape: [], data: Float32Array.from([-0.5]) },
  ];
}

/** The params of one policy, with a scalar (as DQN's `epsilon`). */
export function makeParams(): Record<string, PolicyParams> {
  return { [DEFAULT_POLICY]: { weights: makeWeights(), scalars: { epsilon: 0.25 } } };
}

export function makeSetup(): WorkerSetup {
  return {
    policies: { [DEFAULT_POLICY]: makeSpec() },
    envId: 'CartPole-v1',
    envConfig: { maxEpisodeSteps: 500 },
    numEnvs: 8,
    rolloutLength: 128,
    seed: 42,
    heartbeatSeconds: 2.5,
    slot: 1,
    numSlots: 2,
    pubEndpoint: 'tcp://10.0.0.1:5556',
    learnerDir: '/home/learner/project',
    instance: '0123456789abcdef',
    packageVersion: '0.1.0',
    code: { sha256: 'ab'.repeat(32), bytes: 1234 },
  };
}

/** One valid message of every type, each direction. */
export function everyWorkerMessage(): WorkerMessage[] {
  return [
    { type: 'hello', host: 'box-1', pid: 4242, numEnvs: 8, slot: null },
    { type: 'batch', workerId: 2, instance: '0123456789abcdef', batch: makeBatch() },
    { type: 'heartbeat', workerId: 2, policyVersion: 11, sampling: { steps: 96, total: 256, stepsPerSecond: 19.5 } },
    { type: 'envError', workerId: 2, envId: 'CartPole-v1', step: 1234, message: 'step() returned 3 observations, expected 4' },
    { type: 'weightsRequest', workerId: 0 },
    { type: 'codeRequest', workerId: 2, sha256: 'ab'.repeat(32) },
    { type: 'refused', workerId: 2, reason: 'this worker runs shipped code only when started with --accept-code' },
    { type: 'bye', workerId: 5 },
  ];
}

export function everyLearnerMessage(): LearnerMessage[] {
  return [
    { type: 'welcome', workerId: 2, setup: makeSetup() },
    { type: 'sample', policyVersion: 9 },
    { type: 'weights', policyVersion: 10, params: makeParams() },
    { type: 'code', sha256: 'ab'.repeat(32), source: new TextEncoder().encode('module.exports = {};') },
    { type: 'heartbeat' },
    { type: 'unknownWorker' },
  ];
}

export const v = PROTOCOL_VERSION;
