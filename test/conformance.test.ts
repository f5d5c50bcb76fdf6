import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { algorithms } from '../algorithms';
import { ACTION_MASK, batchColumns, DEFAULT_POLICY, perEnv, type Algorithm, type AlgorithmModule, type ModelConfig, type PolicySpec, type TrajectoryBatch } from '../core/algorithm';
import { Rng } from '../core/rng';
import { envActions, Stepper } from '../envs/stepper';
import { VectorEnv } from '../envs/vector-env';
import { selectBackend } from '../src/backend';
import { loadCheckpointPolicy } from '../src/commands';
import { exportPolicy } from '../src/export/export';
import { createEnv } from '../src/env-loader';
import { train } from '../src/runtime/learner';
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
  const { policy, spec } = await loadCheckpointPolicy(path.join(runDir, 'checkpoints', fs.readdirSync(path.join(runDir, 'checkpoints')).filter((d) => d.startsWith('iter_')).sort().at(-1)!));
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
        const exported = (await import(pathToFileURL(file).href)) as { act(obs: ArrayLike<number>, mask?: ArrayLike<number>): number | number[] };
        const { policy, spec } = await loadCheckpointPolicy(path.join(runDir, 'checkpoints', fs.readdirSync(path.join(runDir, 'checkpoints')).filter((d) => d.startsWith('iter_')).sort().at(-1)!));
        try {
          const N = 1000;
          const size = perEnv(spec.observationSpace.type === 'Box' ? spec.observationSpace.shape : []);
          const rng = new Rng(11);
          const obs = Float32Array.from({ length: N * size }, () => rng.normal());
          const state = Object.fromEntries(spec.state.map((s) => [s.name, new Float32Array(N * s.size)]));
          // With action masks: seeded ones (each action legal with probability 1/2, one at least), the export given each row's.
          const n = spec.actionSpace.type === 'Discrete' ? spec.actionSpace.n : 0;
          const mask = spec.actionMask ? Uint8Array.from({ length: N * n }, () => rng.int(2)) : null;
          for (let r = 0; mask && r < N; r++) mask[r * n + rng.int(n)] = 1;
          const act = policy.act({ obs, numEnvs: N, state, episodeStarts: new Uint8Array(N).fill(1), mask, rng, deterministic: true });
          const space = createEnv(c.envId, {}).actionSpace;
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
