import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrajectoryBatch } from '../core/algorithm';
import { ppo } from '../algorithms/ppo/ppo';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { makeMultiAgentEnv } from '../envs/registry';
import { selectBackend } from '../src/backend';
import { train } from '../src/runtime/learner';
import { MultiAgentAlgorithm } from '../src/runtime/multi-agent/algorithm';
import { MultiAgentSampler } from '../src/runtime/multi-agent/sampler';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { batchExpectation, type GameResult } from '../src/transport/protocol';
import { root } from './helpers/cli';
import { progress } from './helpers/progress';

/**
 * Multi-agent runs through real worker processes: a worker plays the same games as the
 * learner's local sampler for the same seed (a fixed mapping: who sits where does not depend on
 * any draw), and a league run with two workers trains, rates the games the workers report,
 * checkpoints and resumes. The test process takes the backend a spawned worker takes (`auto`),
 * so that both compute the same numbers.
 */

const ENV = 'ConnectFour-v0';
const NUM_ENVS = 3;
const LENGTH = 8;
const AGENTS = ['player_0', 'player_1'];
const MAPPING = { player_0: 'main', player_1: 'random' };

function algorithm(): MultiAgentAlgorithm {
  const env = makeMultiAgentEnv(ENV);
  const opts = { config: ppoConfigSchema.parse({ minibatchSize: 16, numEpochs: 1 }), model: { hiddenSizes: [16], activation: 'tanh' as const, sharedLayers: false }, observationSpace: env.observationSpaces.player_0.toSpec(), actionSpace: env.actionSpaces.player_0.toSpec(), actionMask: true, seed: 5, totalEnvs: NUM_ENVS, rolloutLength: LENGTH };
  env.close();
  return new MultiAgentAlgorithm([{ id: 'main', algorithm: ppo.create(opts) }], {});
}

/** What a batch says of the games and the policy's acting: observations, actions, masks, log-probs and values, rewards and ends. */
function acting(b: TrajectoryBatch) {
  return { policyId: b.policyId, length: b.length, obs: b.obs, actions: b.actions, columns: b.columns, rewards: b.rewards, terminated: b.terminated, truncated: b.truncated, nextObs: b.nextObs, episodes: b.episodes };
}

describe('Multi-agent runs through worker processes', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-workers-'));

  before(async () => {
    await selectBackend('auto');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('plays the games of local mode in a worker process: a fixed mapping (main against random), same seed, the same batches and game results', async () => {
    const algo = algorithm();
    const specs = algo.policySpecs();
    const results: GameResult[] = [];
    const lines: string[] = [];
    const p = await WorkerPool.start({
      setup: { policies: specs, envId: ENV, envConfig: {}, numEnvs: NUM_ENVS, rolloutLength: LENGTH, seed: 11, heartbeatSeconds: 1, learnerDir: root, multiAgent: { trained: ['main'], agents: AGENTS, builtins: { random: 'random' }, mapping: MAPPING } },
      numWorkers: 1,
      inference: 'tfjs', // the local sampler's engine: onnx computes the same values to within float rounding, not bit for bit
      maxPolicyLag: 0,
      workerTimeoutSeconds: 30,
      maxWorkerRestarts: 0,
      heartbeatSeconds: 1,
      log: (l) => lines.push(l),
      onGames: (r) => results.push(...r),
    });
    const localResults: GameResult[] = [];
    const local = new MultiAgentSampler({
      envs: Array.from({ length: NUM_ENVS }, () => makeMultiAgentEnv(ENV)),
      seed: 11,
      spec: specs.main,
      builtins: { random: 'random' },
      createPolicy: (s) => ppo.createPolicy(s),
      matchup: () => MAPPING,
      onGameEnd: (seats, returns) => localResults.push({ seats: { ...seats }, returns: { ...returns } }),
      expect: batchExpectation(specs),
    });
    try {
      await p.broadcast(algo.getParams(), 0);
      await local.broadcast(algo.getParams(), 0);
      // Two requests: the worker's second answer goes on from its first (the open transitions carried over).
      const remote = [...(await p.collect(NUM_ENVS * LENGTH)), ...(await p.collect(NUM_ENVS * LENGTH))];
      const mine = [...(await local.collect(NUM_ENVS * LENGTH)), ...(await local.collect(NUM_ENVS * LENGTH))];
      assert.equal(remote.length, mine.length, lines.join('\n'));
      assert.ok(remote.length >= 2 && remote.every((b) => b.policyId === 'main' && b.workerId === 0), `batches of ${remote.map((b) => `${b.policyId}/${b.workerId}`)}`);
      for (const [k, b] of remote.entries()) assert.deepEqual(acting(b), acting(mine[k]), `batch ${k}`);
      assert.ok(results.length > 0, 'the worker reported games');
      assert.deepEqual(results, localResults.slice(0, results.length));
      assert.ok(results.every((r) => r.seats.player_0 === 'main' && r.seats.player_1 === 'random' && Math.abs(r.returns.player_0 + r.returns.player_1) < 1e-9), JSON.stringify(results[0]));
    } finally {
      await local.close();
      await p.close();
      algo.dispose();
    }
  });

  it('trains PPO self-play on ConnectFour-v0 with two workers and a league: the games the workers report are rated, and it checkpoints and resumes', async () => {
    const config = {
      algorithm: 'ppo',
      env: { id: ENV },
      seed: 3,
      model: { hiddenSizes: [16] },
      workers: { numWorkers: 2, envsPerWorker: 4, rolloutLength: 16, heartbeatSeconds: 0.5 },
      ppo: { numEpochs: 1, minibatchSize: 64 },
      multiAgent: { policies: { main: { train: true } }, league: { snapshotEvery: 2, selfPlay: 0.2, builtins: ['random'], builtinShare: 0.3 } },
      stop: { iterations: 4 },
    };
    const runDir = path.join(tmp, 'league');
    const lines: string[] = [];
    const result = await train(config, { runDir, log: (l) => lines.push(l) });
    const rows = progress(runDir);
    assert.equal(rows.length, 4, lines.join('\n'));
    assert.ok(rows.every((r) => r.liveWorkers === 2 && r.rejectedMessages === 0), JSON.stringify(rows.map((r) => [r.liveWorkers, r.rejectedMessages])));
    // Every iteration's games came from the workers (the learner plays none): rated, scored.
    assert.ok(rows.every((r) => r.leagueGames > 0 && Number.isFinite(r.elo) && r.leagueScore >= 0 && r.leagueScore <= 1), JSON.stringify(rows.map((r) => [r.leagueGames, r.elo, r.leagueScore])));
    const league = fs.readFileSync(path.join(runDir, 'league.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(league[3].ratings), ['main.0', 'main.2', 'main.4', 'random', 'main']);
    assert.notEqual(league[3].ratings.random, 0, 'games against the built-in player were recorded');
    const resumed = await train({ ...config, stop: { iterations: 5 } }, { runDir, resume: result.checkpoint, log: (l) => lines.push(l) });
    assert.equal(resumed.iterations, 5);
    const after = progress(runDir);
    assert.equal(after.length, 5);
    assert.ok(after[4].leagueGames > 0 && after[4].leagueSize === 3, JSON.stringify(after[4]));
    const last = fs.readFileSync(path.join(runDir, 'league.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).pop();
    assert.deepEqual(Object.keys(last.ratings), ['main.0', 'main.2', 'main.4', 'random', 'main'], 'the league came back from the checkpoint');
  });

  it("trains two policies on SpreadLine-v0 with two workers: each trained policy's batches come back under its id and train it", async () => {
    const config = {
      algorithm: 'ppo',
      env: { id: 'SpreadLine-v0' },
      seed: 4,
      model: { hiddenSizes: [16] },
      workers: { numWorkers: 2, envsPerWorker: 4, rolloutLength: 8, heartbeatSeconds: 0.5 },
      ppo: { numEpochs: 1, minibatchSize: 32 },
      multiAgent: { policies: { a: { train: true }, b: { train: true } }, mapping: { agent_0: 'a', agent_1: 'b' } },
      stop: { iterations: 2 },
    };
    const lines: string[] = [];
    await train(config, { runDir: path.join(tmp, 'two-policies'), log: (l) => lines.push(l) });
    const rows = progress(path.join(tmp, 'two-policies'));
    assert.equal(rows.length, 2, lines.join('\n'));
    assert.ok(rows.every((r) => r.liveWorkers === 2 && r.rejectedMessages === 0 && Number.isFinite(r['a/policyLoss']) && Number.isFinite(r['b/policyLoss'])), JSON.stringify(rows[1]));
    // Each iteration gathers both policies' batch sizes: 2 policies x 2 workers x 4 envs x 8 steps.
    assert.ok(rows[0].envSteps >= 2 * 2 * 4 * 8, `${rows[0].envSteps} agent steps`);
  });
});
