import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { algorithms } from '../algorithms';
import { ACTION_MASK, batchColumns, DEFAULT_POLICY, perEnv, type Algorithm, type AlgorithmModule, type ModelConfig, type PolicySpec, type TrajectoryBatch } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import { Rng } from '../core/rng';
import { envActions, Stepper } from '../envs/stepper';
import { VectorEnv } from '../envs/vector-env';
import { selectBackend } from '../src/backend';
import { loadCheckpointPolicy } from '../src/commands';
import { exportPolicy } from '../src/export/export';
import { createEnv, createMultiAgentEnv } from '../src/env-loader';
import { train } from '../src/runtime/learner';
import { readCheckpoint } from '../src/checkpoint';
import type { LeagueConfig } from '../src/config/multi-agent';
import { MultiAgentAlgorithm } from '../src/runtime/multi-agent/algorithm';
import { League } from '../src/runtime/multi-agent/league';
import { MultiAgentSampler } from '../src/runtime/multi-agent/sampler';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { batchExpectation, decodeLearnerMessage, encode, MessageRejected, validateBatch, type WorkerSetup } from '../src/transport/protocol';
import { PACKAGE_VERSION } from '../src/version';
import './helpers/toy-register';

/**
 * The algorithm conformance suite: what every registered algorithm module must do for the
 * runtime to run it unchanged, locally and on workers. Each case is one module on one env;
 * adding an algorithm means a folder under algorithms/, a registry line, and a case here.
 * `toy` (test/helpers/toy-algorithm.ts) is written only for this suite: a recurrent policy with a
 * mask column, registered from outside algorithms/, to prove the seam carries one.
 */
interface Case {
  algorithm: string;
  envId: string;
  model: Partial<ModelConfig>;
  /** The algorithm's section of the config. */
  config: Record<string, unknown>;
}

const CASES: Case[] = [
  { algorithm: 'ppo', envId: 'CartPole-v1', model: { hiddenSizes: [16] }, config: { minibatchSize: 32, numEpochs: 2 } },
  { algorithm: 'ppo', envId: 'Pendulum-v1', model: { hiddenSizes: [16] }, config: { minibatchSize: 32, numEpochs: 1 } },
  { algorithm: 'dqn', envId: 'CartPole-v1', model: { hiddenSizes: [16] }, config: { learningStarts: 32, batchSize: 16, trainFrequency: 1, bufferSize: 2000, checkpointReplayBuffer: true, targetUpdateInterval: 1000 } },
  { algorithm: 'sac', envId: 'Pendulum-v1', model: { hiddenSizes: [16] }, config: { learningStarts: 32, batchSize: 16, bufferSize: 2000, checkpointReplayBuffer: true, stepsPerIteration: 256, noiseRepeat: 4 } },
  { algorithm: 'impala', envId: 'CartPole-v1', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 256 } },
  { algorithm: 'appo', envId: 'Pendulum-v1', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 256, numEpochs: 2, minibatchSize: 32 } },
  { algorithm: 'toy', envId: 'MaskedCorridor-v0', model: { hiddenSizes: [8] }, config: { lr: 0.5 } },
  // With action masks (the empty cells): the mask column, next masks for DQN's targets, masked exports.
  { algorithm: 'ppo', envId: 'TicTacToe-v0', model: { hiddenSizes: [16] }, config: { minibatchSize: 32, numEpochs: 2 } },
  // A recurrent policy (LSTM): the state carried per env, recorded as columns, trained on sequences (reset where episodes start).
  { algorithm: 'ppo', envId: 'CartPoleNoVel-v1', model: { hiddenSizes: [16], recurrent: { type: 'lstm', size: 8 } }, config: { minibatchSize: 32, numEpochs: 2, sequenceLength: 8 } },
  { algorithm: 'appo', envId: 'TicTacToe-v0', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 256, numEpochs: 2, minibatchSize: 32 } },
  { algorithm: 'dqn', envId: 'TicTacToe-v0', model: { hiddenSizes: [16] }, config: { learningStarts: 32, batchSize: 16, trainFrequency: 1, bufferSize: 2000, checkpointReplayBuffer: true, targetUpdateInterval: 1000 } },
];

const NUM_ENVS = 4;
const LENGTH = 16;
const MODEL: ModelConfig = { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false };
const root = path.resolve(__dirname, '..', '..');

function moduleOf(c: Case): AlgorithmModule<unknown> {
  return algorithms[c.algorithm];
}

function optsOf(c: Case, seed: number) {
  const env = createEnv(c.envId, {});
  const opts = {
    config: moduleOf(c).configSchema.parse(c.config),
    model: { ...MODEL, ...c.model },
    observationSpace: env.observationSpace.toSpec(),
    actionSpace: env.actionSpace.toSpec(),
    actionMask: typeof env.actionMask === 'function',
    seed,
    totalEnvs: NUM_ENVS,
    numWorkers: 0,
    rolloutLength: LENGTH,
    totalEnvSteps: 100_000,
  };
  env.close();
  return opts;
}

function specOf(a: Algorithm): PolicySpec {
  return a.policySpecs()[DEFAULT_POLICY];
}

function sampler(c: Case, a: Algorithm, seed = 5): RolloutWorker {
  const spec = specOf(a);
  const worker = new RolloutWorker({ workerId: 0, envId: c.envId, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed, policy: moduleOf(c).createPolicy(spec, { slot: 0, numSlots: 1 }), spec });
  worker.setParams(a.getParams()[DEFAULT_POLICY], 0);
  return worker;
}

function flatWeights(a: Algorithm): Float32Array[] {
  return a.getParams()[DEFAULT_POLICY].weights.map((w) => w.data);
}

function sameBits(x: Float32Array[], y: Float32Array[]): boolean {
  return x.length === y.length && x.every((a, i) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(y[i].buffer, y[i].byteOffset, y[i].byteLength)));
}

/** A new array of the same type with one value replaced. */
function withValue<A extends Float32Array | Int32Array | Uint8Array>(a: A, i: number, v: number): A {
  const copy = a.slice() as A;
  copy[i] = v;
  return copy;
}

/**
 * A recurrent (Discrete) policy's export against `rl evaluate`'s stepping: the checkpoint's policy steps
 * the env greedily (the Stepper, as rl evaluate does) over 300 steps of seeded episodes; the
 * exported module, fed the same observations and reset() where each episode starts, picks the
 * same action at every step, from a head whose log-softmax gives the log-probability the policy
 * recorded for it (the state matters there even where the untrained policy's argmax does not).
 */
async function recurrentExportParity(c: Case, runDir: string, file: string): Promise<void> {
  const exported = (await import(pathToFileURL(file).href)) as { act(obs: ArrayLike<number>): number; head(obs: ArrayLike<number>): Float32Array; reset(): void };
  const { policy, spec } = await loadCheckpointPolicy(latestCheckpoint(runDir));
  const env = createEnv(c.envId, {});
  try {
    const stepper = new Stepper(new VectorEnv(c.envId, [env]), policy, spec, new Rng(0), true);
    stepper.reset([12]);
    let differ = 0;
    let worst = 0;
    let episodes = 0;
    let starts = 1;
    for (let t = 0; t < 300; t++) {
      if (starts) (exported.reset(), (episodes += 1));
      const obs = Array.from(stepper.current as Float32Array);
      const { act, step } = stepper.step();
      const head = exported.head(obs);
      const theirs = exported.act(obs);
      if (theirs !== act.actions[0]) differ += 1;
      const logSum = Math.log(head.reduce((a, h) => a + Math.exp(h), 0));
      worst = Math.max(worst, Math.abs(head[theirs] - logSum - (act.columns.logp as Float32Array)[0]));
      starts = step.terminated[0] | step.truncated[0];
    }
    assert.equal(differ, 0, `${differ} of 300 greedy actions differ`);
    assert.ok(worst < 1e-5, `the greedy action's log-probability differs by up to ${worst}`);
    assert.ok(episodes > 1, 'more than one episode: the state was reset');
  } finally {
    env.close();
    policy.dispose();
  }
}

/** The newest periodic checkpoint of a run dir. */
function latestCheckpoint(runDir: string): string {
  return path.join(runDir, 'checkpoints', fs.readdirSync(path.join(runDir, 'checkpoints')).filter((d) => d.startsWith('iter_')).sort().at(-1)!);
}

/**
 * An export's greedy actions against `rl evaluate`'s on 1,000 seeded observations: the
 * checkpoint's policy `policyId` (default: the one it trained) acts on them in one batch, and
 * the exported module (`file`) on each, under seeded action masks where the policy takes masks
 * (each action legal with probability 1/2, one at least); `space` is the env's action space.
 */
async function exportParity(file: string, checkpoint: string, space: Parameters<typeof envActions>[0], policyId?: string): Promise<void> {
  const exported = (await import(pathToFileURL(file).href)) as { act(obs: ArrayLike<number>, mask?: ArrayLike<number>): number | number[] };
  const { policy, spec } = await loadCheckpointPolicy(checkpoint, [], policyId);
  try {
    const N = 1000;
    const size = perEnv(spec.observationSpace.type === 'Box' ? spec.observationSpace.shape : []);
    const rng = new Rng(11);
    const obs = Float32Array.from({ length: N * size }, () => rng.normal());
    const state = Object.fromEntries(spec.state.map((s) => [s.name, new Float32Array(N * s.size)]));
    const n = spec.actionSpace.type === 'Discrete' ? spec.actionSpace.n : 0;
    const mask = spec.actionMask ? Uint8Array.from({ length: N * n }, () => rng.int(2)) : null;
    for (let r = 0; mask && r < N; r++) mask[r * n + rng.int(n)] = 1;
    const act = policy.act({ obs, numEnvs: N, state, episodeStarts: new Uint8Array(N).fill(1), mask, rng, deterministic: true });
    const ours = envActions(space, act.actions, spec.boxActions); // what rl evaluate steps the env with
    let differ = 0;
    const width = ours.length / N;
    for (let r = 0; r < N; r++) {
      const row = obs.subarray(r * size, (r + 1) * size);
      const theirs = [mask ? exported.act(row, mask.subarray(r * n, (r + 1) * n)) : exported.act(row)].flat();
      for (let k = 0; k < width; k++) if (Math.abs(theirs[k] - ours[r * width + k]) > 1e-5 * Math.max(1, Math.abs(ours[r * width + k]))) differ += 1;
    }
    assert.equal(differ, 0, `${differ} of ${N} greedy actions differ`);
  } finally {
    policy.dispose();
  }
}

describe('algorithm conformance', function () {
  this.timeout(180_000);
  let tmp: string;

  before(async () => {
    await selectBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-conformance-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('runs every registered algorithm module (a module without a case here fails)', () => {
    const covered = new Set(CASES.map((c) => c.algorithm));
    assert.deepEqual(Object.keys(algorithms).filter((name) => !covered.has(name)), []);
  });

  for (const c of CASES) {
    describe(`${c.algorithm} on ${c.envId}`, () => {
      let algo: Algorithm;
      let worker: RolloutWorker;
      let batches: TrajectoryBatch[];

      before(() => {
        algo = moduleOf(c).create(optsOf(c, 3));
        worker = sampler(c, algo);
        batches = [worker.sample(), worker.sample(), worker.sample()];
      });
      after(() => {
        worker.close();
        algo.dispose();
      });

      it('records exactly the columns its spec declares, each of its dtype and shape, in local mode', () => {
        const spec = specOf(algo);
        const declared = batchColumns(spec);
        for (const b of batches) {
          assert.deepEqual(Object.keys(b.columns).sort(), declared.map((d) => d.name).sort());
          for (const d of declared) {
            const v = b.columns[d.name];
            assert.equal(v.constructor.name, { float32: 'Float32Array', int32: 'Int32Array', uint8: 'Uint8Array' }[d.dtype], d.name);
            assert.equal(v.length, b.numEnvs * b.length * perEnv(d.shape), d.name);
          }
          assert.deepEqual(Object.keys(b.state).sort(), spec.state.map((s) => s.name).sort());
          assert.equal(b.policyId, DEFAULT_POLICY);
          validateBatch(b, batchExpectation(algo.policySpecs()));
        }
      });

      it('refuses a batch with a non-finite value in any float column', () => {
        const expect = batchExpectation(algo.policySpecs());
        const b = batches[0];
        const floats: [string, (nan: number) => TrajectoryBatch][] = [
          ['rewards', (x) => ({ ...b, rewards: withValue(b.rewards, 3, x) })],
          ['actions', (x) => ({ ...b, actions: withValue(b.actions, 1, x) })],
          ...(b.obs instanceof Float32Array ? [['obs', (x: number) => ({ ...b, obs: withValue(b.obs as Float32Array, 2, x) })] as [string, (nan: number) => TrajectoryBatch]] : []),
          ...Object.entries(b.columns)
            .filter(([, v]) => v instanceof Float32Array)
            .map(([k, v]) => [`columns.${k}`, (x: number) => ({ ...b, columns: { ...b.columns, [k]: withValue(v, 0, x) } })] as [string, (nan: number) => TrajectoryBatch]),
          ...Object.entries(b.state).map(([k, v]) => [`state.${k}`, (x: number) => ({ ...b, state: { ...b.state, [k]: withValue(v, 0, x) } })] as [string, (nan: number) => TrajectoryBatch]),
        ];
        for (const [what, make] of floats) {
          for (const x of [NaN, Infinity]) {
            assert.throws(() => validateBatch(make(x), expect), (e: unknown) => e instanceof MessageRejected && (e.kind === 'nonFinite' || e.kind === 'badField'), `${what} = ${x}`);
          }
        }
      });

      it('changes its weights with a seeded update and leaves no tfjs tensor behind', async () => {
        await algo.update(batches.slice(0, 2), { envSteps: 2 * NUM_ENVS * LENGTH, policyVersion: 0 }); // optimizer slots are made on the first update
        const before = flatWeights(algo);
        const tensors = tf.memory().numTensors;
        await algo.update([batches[2]], { envSteps: 3 * NUM_ENVS * LENGTH, policyVersion: 1 });
        assert.equal(tf.memory().numTensors, tensors, 'tensors alive after the update');
        assert.ok(!sameBits(before, flatWeights(algo)), 'the update changed no weight');
      });

      it('resumes exactly: its state round trip gives a bit-identical next update', async () => {
        const state = await algo.getState();
        const copy = moduleOf(c).create(optsOf(c, 99)); // another seed: everything must come from the state
        try {
          await copy.setState(state);
          assert.ok(sameBits(flatWeights(algo), flatWeights(copy)), 'weights after setState');
          const next = worker.sample();
          const ctx = { envSteps: 4 * NUM_ENVS * LENGTH, policyVersion: 2 };
          const m1 = await algo.update([next], ctx);
          const m2 = await copy.update([next], ctx);
          assert.ok(sameBits(flatWeights(algo), flatWeights(copy)), 'weights after the next update differ');
          assert.deepEqual(m2, m1);
          assert.deepEqual((await copy.getState()).json, (await algo.getState()).json);
        } finally {
          copy.dispose();
        }
      });

      it("samples on exactly after its worker's state round trip (envs, generator, a recurrent policy's state)", () => {
        const a = sampler(c, algo, 21);
        const b = sampler(c, algo, 22); // another seed: everything must come from the state
        try {
          a.sample();
          a.sample();
          b.setState(structuredClone(a.getState()));
          const [x, y] = [a.sample(), b.sample()];
          assert.deepEqual({ ...y, workerId: 0 }, { ...x, workerId: 0 });
        } finally {
          a.close();
          b.close();
        }
      });

      it('has a policy spec that survives msgpack as the welcome carries it', () => {
        const policies = algo.policySpecs();
        const setup: WorkerSetup = {
          policies, envId: c.envId, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed: 0, heartbeatSeconds: 1, slot: 0, numSlots: 1,
          pubEndpoint: 'tcp://127.0.0.1:1', learnerDir: root, instance: 'a'.repeat(16), packageVersion: PACKAGE_VERSION, code: null,
        };
        const msg = decodeLearnerMessage(encode({ type: 'welcome', workerId: 0, setup }));
        assert.equal(msg.type, 'welcome');
        if (msg.type === 'welcome') assert.deepEqual(msg.setup.policies, policies);
      });

      it('says the exact tensors of its policy (weightShapes) without building it', () => {
        const spec = specOf(algo);
        const shapes = moduleOf(c).weightShapes(spec);
        assert.deepEqual(shapes, algo.getParams()[DEFAULT_POLICY].weights.map((w) => ({ name: w.name, shape: w.shape })));
      });

      it('records exactly the declared columns through a real worker process', async () => {
        const lines: string[] = [];
        const policies = algo.policySpecs();
        const previous = process.env.NODE_OPTIONS;
        process.env.NODE_OPTIONS = `${previous ?? ''} --require ${path.join(__dirname, 'helpers', 'toy-register.js')}`.trim();
        let pool: WorkerPool | undefined;
        try {
          pool = await WorkerPool.start({
            setup: { policies, envId: c.envId, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed: 1, heartbeatSeconds: 1, learnerDir: root },
            code: undefined, numWorkers: 1, maxPolicyLag: 0, workerTimeoutSeconds: 30, maxWorkerRestarts: 0, heartbeatSeconds: 1, log: (l) => lines.push(l),
          });
          await pool.broadcast(algo.getParams(), 0);
          const got = await pool.collect(2 * NUM_ENVS * LENGTH);
          assert.ok(got.length >= 2, `${got.length} batches`);
          const declared = batchColumns(specOf(algo)).map((d) => d.name).sort();
          for (const b of got) {
            assert.deepEqual(Object.keys(b.columns).sort(), declared);
            validateBatch(b, batchExpectation(policies));
          }
          assert.equal(pool.stats().rejectedMessages, 0, lines.join('\n'));
        } finally {
          await pool?.close();
          if (previous === undefined) delete process.env.NODE_OPTIONS;
          else process.env.NODE_OPTIONS = previous;
        }
      });

      it("exports a policy whose greedy actions equal rl evaluate's on 1,000 seeded observations, a recurrent one's over 300 steps of episodes (and under action masks, when its env gives them)", async () => {
        const runDir = path.join(tmp, `${c.algorithm}-${c.envId}`);
        await train(
          { algorithm: c.algorithm, env: { id: c.envId }, seed: 1, model: c.model, workers: { envsPerWorker: NUM_ENVS, rolloutLength: LENGTH }, stop: { iterations: 2, envSteps: 100_000 }, [c.algorithm]: c.config },
          { runDir, log: () => {} },
        );
        const file = path.join(tmp, `${c.algorithm}-${c.envId}.mjs`);
        await exportPolicy({ checkpoint: runDir, format: 'js', out: file, prefer: 'latest' });
        if (c.model.recurrent) return recurrentExportParity(c, runDir, file);
        return exportParity(file, latestCheckpoint(runDir), createEnv(c.envId, {}).actionSpace);
      });
    });
  }

  it('the toy policy carries its recurrent state: a counter that restarts with each episode and is recorded at each batch start', () => {
    const c = CASES.find((x) => x.algorithm === 'toy')!;
    const algo = moduleOf(c).create(optsOf(c, 3));
    const worker = sampler(c, algo);
    try {
      const expected = new Float32Array(NUM_ENVS); // steps since each env's episode began
      for (let k = 0; k < 3; k++) {
        const b = worker.sample();
        assert.deepEqual(Array.from(b.state.counter), Array.from(expected), `batch ${k}'s recorded start state`);
        const counter = b.columns.counter as Float32Array;
        const mask = b.columns[ACTION_MASK] as Uint8Array;
        for (let t = 0; t < b.length; t++) {
          for (let e = 0; e < NUM_ENVS; e++) {
            const row = t * NUM_ENVS + e;
            assert.equal(counter[row], expected[e], `row ${row}`);
            assert.equal(mask[row * 3 + b.actions[row]], 1, `row ${row}: the action taken was legal`);
            expected[e] = b.terminated[row] || b.truncated[row] ? 0 : expected[e] + 1;
          }
        }
      }
      assert.ok(expected.some((x) => x > 0));
    } finally {
      worker.close();
      algo.dispose();
    }
  });
});

/**
 * A multi-agent case: one module on a multi-agent env with a `multiAgent:` section, run as a
 * run would (each trained policy its own algorithm, `MultiAgentAlgorithm` around them, the
 * sampler playing the mapping or the league), or refused at the start of the run with a
 * ConfigError (`refused`) where the algorithm does not apply to the env.
 */
interface MultiAgentCase extends Case {
  multiAgent: MultiAgentConfigInput;
  refused?: RegExp;
}

type MultiAgentConfigInput = { policies: Record<string, { train?: boolean; builtin?: string }>; mapping?: Record<string, string>; league?: Partial<LeagueConfig>; evaluate?: string[] };

const SELF_PLAY: MultiAgentConfigInput = { policies: { main: { train: true } }, mapping: { player_0: 'main', player_1: 'main' }, evaluate: ['random'] };
const SEPARATE: MultiAgentConfigInput = { policies: { a: { train: true }, b: { train: true } }, mapping: { agent_0: 'a', agent_1: 'b' }, evaluate: ['team'] };

const MULTI_AGENT_CASES: MultiAgentCase[] = [
  // Self-play against a league of snapshots (their weights and the ratings in the state).
  { algorithm: 'ppo', envId: 'ConnectFour-v0', model: { hiddenSizes: [16] }, config: { minibatchSize: 32, numEpochs: 2 }, multiAgent: { policies: { main: { train: true } }, league: { snapshotEvery: 1 }, evaluate: ['random'] } },
  // Two trained policies, one per agent, on a simultaneous-move game.
  { algorithm: 'ppo', envId: 'SpreadLine-v0', model: { hiddenSizes: [16] }, config: { minibatchSize: 32, numEpochs: 2 }, multiAgent: SEPARATE },
  { algorithm: 'appo', envId: 'ConnectFour-v0', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 128, numEpochs: 2, minibatchSize: 32 }, multiAgent: SELF_PLAY },
  { algorithm: 'appo', envId: 'SpreadLine-v0', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 128, numEpochs: 2, minibatchSize: 32 }, multiAgent: SEPARATE },
  { algorithm: 'impala', envId: 'ConnectFour-v0', model: { hiddenSizes: [16] }, config: { trainBatchSize: 64, stepsPerIteration: 128 }, multiAgent: SELF_PLAY },
  { algorithm: 'dqn', envId: 'ConnectFour-v0', model: { hiddenSizes: [16] }, config: { learningStarts: 32, batchSize: 16, trainFrequency: 1, bufferSize: 2000, checkpointReplayBuffer: true, targetUpdateInterval: 1000 }, multiAgent: SELF_PLAY },
  { algorithm: 'dqn', envId: 'SpreadLine-v0', model: { hiddenSizes: [16] }, config: { learningStarts: 32, batchSize: 16, trainFrequency: 1, bufferSize: 2000, checkpointReplayBuffer: true, targetUpdateInterval: 1000 }, multiAgent: SEPARATE },
  // SAC acts in Box spaces only; the shipped multi-agent games have Discrete actions.
  { algorithm: 'sac', envId: 'SpreadLine-v0', model: { hiddenSizes: [16] }, config: {}, multiAgent: SEPARATE, refused: /^algorithm: sac needs a Box action space; this env's actions are Discrete\(3\)/ },
  // The toy policy's recurrent state (a counter per env) is not carried by multi-agent sampling.
  { algorithm: 'toy', envId: 'SpreadLine-v0', model: { hiddenSizes: [8] }, config: { lr: 0.5 }, multiAgent: SEPARATE, refused: /^multiAgent: algorithm toy's policies carry a recurrent state \(counter\)/ },
];

const MA_ENVS = 4;
const MA_LENGTH = 8;

/** The trained policies' algorithms of a case, as a run builds them (seeds from `seed` and the policy id), around them `MultiAgentAlgorithm` (with the league, if any). */
function multiAgentAlgorithm(c: MultiAgentCase, seed: number): MultiAgentAlgorithm {
  const env = createMultiAgentEnv(c.envId, {});
  const m = c.multiAgent;
  const ids = Object.keys(m.policies).filter((id) => m.policies[id].train);
  const trained = ids.map((id, k) => {
    const agent = m.mapping ? Object.keys(m.mapping).find((a) => m.mapping![a] === id)! : env.possibleAgents[0];
    const opts = { config: moduleOf(c).configSchema.parse(c.config), model: { ...MODEL, ...c.model }, observationSpace: env.observationSpaces[agent].toSpec(), actionSpace: env.actionSpaces[agent].toSpec(), actionMask: typeof env.actionMask === 'function' };
    return { id, algorithm: moduleOf(c).create({ ...opts, seed: seed + k, totalEnvs: MA_ENVS * 2, numWorkers: 0, rolloutLength: MA_LENGTH, totalEnvSteps: 100_000 }) };
  });
  env.close();
  const league = m.league ? new League({ ...leagueDefaults, ...m.league }, ids[0], ['player_0', 'player_1'], seed) : undefined;
  const algorithm = new MultiAgentAlgorithm(trained, {}, league);
  league?.snapshot(0, algorithm.getParams()[ids[0]]);
  return algorithm;
}

const leagueDefaults: LeagueConfig = { snapshotEvery: 1, gateGames: 200, maxSnapshots: 20, opponents: 'uniform', recent: 5, selfPlay: 0.2, seat: 'alternate', builtins: [], builtinShare: 0 };

/** The sampler of a run of `algorithm` on the case's env (its mapping, or its league's matchups). */
function multiAgentSampler(c: MultiAgentCase, algorithm: MultiAgentAlgorithm, seed: number): MultiAgentSampler {
  const specs = algorithm.policySpecs();
  const ids = Object.keys(c.multiAgent.policies).filter((id) => c.multiAgent.policies[id].train);
  return new MultiAgentSampler({
    envs: Array.from({ length: MA_ENVS }, () => createMultiAgentEnv(c.envId, {})),
    seed,
    spec: specs[ids[0]],
    trained: ids.map((id) => specs[id]),
    builtins: {},
    createPolicy: (s) => moduleOf(c).createPolicy(s),
    matchup: algorithm.league ? (i) => algorithm.league!.matchup(i) : () => c.multiAgent.mapping!,
    onGameEnd: algorithm.league && ((s, r) => algorithm.league!.record(s, r)),
    expect: batchExpectation(specs),
  });
}

const trainedIds = (c: MultiAgentCase) => Object.keys(c.multiAgent.policies).filter((id) => c.multiAgent.policies[id].train);
const paramBits = (a: MultiAgentAlgorithm, ids: string[]) => ids.map((id) => a.getParams()[id].weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString('base64')).join());

describe('algorithm conformance: multi-agent runs', function () {
  this.timeout(180_000);
  let tmp: string;

  before(async () => {
    await selectBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-conformance-ma-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('has a case for every registered algorithm module: it runs, or it is refused with a ConfigError', () => {
    const covered = new Set(MULTI_AGENT_CASES.map((c) => c.algorithm));
    assert.deepEqual(Object.keys(algorithms).filter((name) => !covered.has(name)), []);
  });

  const configOf = (c: MultiAgentCase, seed: number) => ({
    algorithm: c.algorithm,
    env: { id: c.envId },
    seed,
    model: c.model,
    workers: { envsPerWorker: MA_ENVS, rolloutLength: MA_LENGTH },
    multiAgent: c.multiAgent,
    evaluation: { every: 2, episodes: 4 },
    stop: { iterations: 2, envSteps: 100_000 },
    [c.algorithm]: c.config,
  });

  for (const c of MULTI_AGENT_CASES.filter((x) => x.refused)) {
    it(`refuses ${c.algorithm} on ${c.envId} at the start of the run, in one line`, async () => {
      await assert.rejects(train(configOf(c, 1), { runDir: path.join(tmp, `refused-${c.algorithm}`), log: () => {} }), (e: Error) => e instanceof ConfigError && c.refused!.test(e.message) && !e.message.includes('\n'));
    });
  }

  for (const c of MULTI_AGENT_CASES.filter((x) => !x.refused)) {
    const ids = trainedIds(c);
    describe(`${c.algorithm} on ${c.envId}, ${c.multiAgent.league ? 'a league' : `policies ${ids.join(', ')}`}`, () => {
      let algo: MultiAgentAlgorithm;
      let sampler: MultiAgentSampler;
      let batches: TrajectoryBatch[];

      before(async () => {
        algo = multiAgentAlgorithm(c, 3);
        sampler = multiAgentSampler(c, algo, 5);
        await sampler.broadcast(algo.getParams(), 0);
        batches = [...(await sampler.collect(64)), ...(await sampler.collect(64))];
      });
      after(async () => {
        await sampler.close();
        algo.dispose();
      });

      it("records, for each trained policy, batches of its own id with exactly its spec's columns", () => {
        const specs = algo.policySpecs();
        assert.deepEqual([...new Set(batches.map((b) => b.policyId))].sort(), [...ids].sort());
        for (const b of batches) {
          const declared = batchColumns(specs[b.policyId]);
          assert.deepEqual(Object.keys(b.columns).sort(), declared.map((d) => d.name).sort());
          for (const d of declared) assert.equal(b.columns[d.name].length, b.numEnvs * b.length * perEnv(d.shape), d.name);
          validateBatch(b, batchExpectation(specs));
        }
      });

      it("says each trained policy's exact tensors (weightShapes) without building it", () => {
        for (const id of ids) assert.deepEqual(moduleOf(c).weightShapes(algo.policySpecs()[id]), algo.getParams()[id].weights.map((w) => ({ name: w.name, shape: w.shape })));
      });

      it("changes every trained policy's weights with a seeded update and leaves no tfjs tensor behind", async () => {
        const ctx = (k: number) => ({ envSteps: 128 * k, policyVersion: k - 1 });
        await algo.update(batches, ctx(1)); // optimizer slots are made on the first update
        const earlier = paramBits(algo, ids);
        const more = await sampler.collect(64);
        const tensors = tf.memory().numTensors;
        await algo.update(more, ctx(2));
        assert.equal(tf.memory().numTensors, tensors, 'tensors alive after the update');
        const later = paramBits(algo, ids);
        assert.deepEqual(ids.filter((_, k) => later[k] === earlier[k]), [], 'policies whose weights the update left as they were');
      });

      it('resumes exactly: its state round trip (every policy, the league) gives a bit-identical next update', async () => {
        const state = await algo.getState();
        const copy = multiAgentAlgorithm(c, 99); // other seeds: everything must come from the state
        try {
          await copy.setState(state);
          assert.deepEqual(paramBits(copy, ids), paramBits(algo, ids), 'weights after setState');
          assert.deepEqual(Object.keys(copy.getParams()).sort(), Object.keys(algo.getParams()).sort(), 'the same frozen policies (snapshots)');
          const next = await sampler.collect(64);
          const ctx = { envSteps: 512, policyVersion: 3 };
          const [m1, m2] = [await algo.update(next, ctx), await copy.update(next, ctx)];
          assert.deepEqual(paramBits(copy, ids), paramBits(algo, ids), 'weights after the next update differ');
          assert.deepEqual(m2, m1);
          // The league went on recording the sampler's games (of algo's league, not the copy's): it is compared as the state left it.
          const { multiAgentLeague: league, ...json } = (await copy.getState()).json;
          const { multiAgentLeague: _, ...theirs } = (await algo.getState()).json;
          assert.deepEqual(json, theirs);
          assert.deepEqual(league, state.json.multiAgentLeague);
        } finally {
          copy.dispose();
        }
      });

      it("keys its metrics as a single-agent run's with one trained policy, <id>/<key> with several", () => {
        const probe = moduleOf(c).create(optsOf({ ...c, envId: 'CartPole-v1' }, 1)); // the same algorithm alone: its metrics do not depend on the env
        const inner = probe.metrics.map((m) => m.key);
        probe.dispose();
        const want = ids.length === 1 ? inner : ids.flatMap((id) => inner.map((k) => `${id}/${k}`));
        assert.deepEqual(algo.metrics.map((m) => m.key), want);
      });

      it('trains the same run twice from the same seed (weights and progress.jsonl), and exports each trained policy as rl evaluate acts', async () => {
        const runs = [];
        for (const name of ['one', 'two']) runs.push(await train(configOf(c, 1), { runDir: path.join(tmp, `${c.algorithm}-${c.envId}-${ids.length}-${name}`), log: () => {} }));
        const bits = (dir: string) => readCheckpoint(dir).tensors.filter((t) => t.name.startsWith('weights/')).map((t) => `${t.name}:${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')}`);
        assert.deepEqual(bits(runs[1].checkpoint), bits(runs[0].checkpoint));
        const timed = new Set(['wallSeconds', 'envStepsPerSecond', 'sampleSeconds', 'updateSeconds', 'learnerBusy', 'rssMB', 'heapUsedMB', 'externalMB']);
        const rows = (dir: string) => fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => Object.entries(JSON.parse(l) as Record<string, number>).filter(([k]) => !timed.has(k)));
        assert.deepEqual(rows(runs[1].runDir), rows(runs[0].runDir));
        const env = createMultiAgentEnv(c.envId, {});
        try {
          for (const id of ids) {
            const agent = c.multiAgent.mapping ? Object.keys(c.multiAgent.mapping).find((a) => c.multiAgent.mapping![a] === id)! : env.possibleAgents[0];
            const file = path.join(tmp, `${c.algorithm}-${c.envId}-${id}.mjs`);
            await exportPolicy({ checkpoint: runs[0].runDir, format: 'js', out: file, policyId: id, prefer: 'latest' });
            await exportParity(file, latestCheckpoint(runs[0].runDir), env.actionSpaces[agent], id);
          }
        } finally {
          env.close();
        }
      });
    });
  }
});
