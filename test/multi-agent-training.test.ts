import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActInput, ActResult, PolicySpec } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import type { MultiAgentEnv, MultiAgentStepResult, PerAgent } from '../envs/multi-agent';
import { loadConfig, validateConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { evaluateCheckpoint, loadCheckpointPolicy } from '../src/commands';
import { jsPolicyModule } from '../src/export/js';
import type { MatchReport } from '../src/evaluate-matches';
import { eloRatings } from '../src/runtime/multi-agent/elo';
import { MultiAgentGames } from '../src/runtime/multi-agent/games';
import { League } from '../src/runtime/multi-agent/league';
import { AgentTrajectories } from '../src/runtime/multi-agent/trajectories';
import type { LeagueConfig } from '../src/config/multi-agent';

const AGENTS = ['player_0', 'player_1'];

/**
 * A scripted turn game of four moves, player_0 first: step t pays `REWARDS[t]` (player_1 gets
 * 0.125 before its first move, and wins on the last with +1 against player_0's -1). An agent's
 * observation is [moves made, its index].
 */
const REWARDS: PerAgent<number>[] = [
  { player_0: 0.5, player_1: 0.125 },
  { player_0: 0.25, player_1: 1 },
  { player_0: 0, player_1: 0 },
  { player_0: -1, player_1: 1 },
];

class ScriptedGame implements MultiAgentEnv {
  readonly possibleAgents = AGENTS;
  readonly observationSpaces = { player_0: new Box(0, 10, [2]), player_1: new Box(0, 10, [2]) };
  readonly actionSpaces = { player_0: new Discrete(2), player_1: new Discrete(2) };
  t = 0;
  agents() {
    return this.t < REWARDS.length ? AGENTS : [];
  }
  acting() {
    return this.t < REWARDS.length ? [AGENTS[this.t % 2]] : [];
  }
  private obs() {
    return { player_0: Float32Array.of(this.t, 0), player_1: Float32Array.of(this.t, 1) };
  }
  reset() {
    this.t = 0;
    return { obs: this.obs(), infos: { player_0: {}, player_1: {} } };
  }
  step(): MultiAgentStepResult {
    const rewards = REWARDS[this.t++];
    const done = this.t === REWARDS.length;
    return { obs: this.obs(), rewards, terminations: { player_0: done, player_1: done }, truncations: { player_0: false, player_1: false }, infos: { player_0: {}, player_1: {} } };
  }
  close() {}
}

const SPEC: PolicySpec = {
  algorithm: 'scripted',
  policyId: 'main',
  observationSpace: new Box(0, 10, [2]).toSpec(),
  actionSpace: new Discrete(2).toSpec(),
  actionMask: false,
  model: { hiddenSizes: [4], activation: 'tanh', sharedLayers: false, conv: [] },
  config: {},
  columns: [{ name: 'value', dtype: 'float32', shape: [] }],
  state: [],
  boxActions: 'clip',
};

/** Action 1 always; its value column is 10 x the observation's move count plus the agent's index. */
const scripted = {
  act(input: ActInput): ActResult {
    const value = Float32Array.from({ length: input.numEnvs }, (_, i) => 10 * input.obs[i * 2] + input.obs[i * 2 + 1]);
    return { actions: new Float32Array(input.numEnvs).fill(1), columns: { value }, state: {} };
  },
};

describe('Multi-agent sampling: one trajectory per (env, agent)', () => {
  const trajectories = new AgentTrajectories(SPEC);
  const games = new MultiAgentGames({
    envs: [new ScriptedGame()],
    seeds: [0],
    player: () => ({ kind: 'policy', actor: scripted, spec: SPEC, deterministic: false }),
    record: { main: trajectories },
    matchup: () => ({ player_0: 'main', player_1: 'main' }),
    rng: new Rng(0),
  });
  for (let i = 0; i < 4; i++) games.step();
  const [p0, p1] = trajectories.drain({ workerId: 0, policyVersion: 3, seq: (() => { let s = 0; return () => s++; })() });

  it("sums an agent's rewards from its action to its next one, the loser's -1 on its last transition", () => {
    // player_0 moves at t = 0 and 2: 0.5 + 0.25 from its first move to its second, then 0 + -1.
    assert.deepEqual(Array.from(p0.rewards), [0.75, -1]);
    // player_1 moves at t = 1 and 3: 1 + 0, then 1; the 0.125 before its first move trains nothing.
    assert.deepEqual(Array.from(p1.rewards), [1, 1]);
    assert.deepEqual(Array.from(p0.terminated), [0, 1]);
    assert.deepEqual(Array.from(p1.terminated), [0, 1]);
  });

  it('records each row at the agent\'s own observation and bootstraps from its observation at its next move', () => {
    assert.deepEqual(Array.from(p0.obs), [0, 0, 2, 0]);
    assert.deepEqual(Array.from(p1.obs), [1, 1, 3, 1]);
    assert.deepEqual(Array.from(p0.columns.value), [0, 20]);
    assert.deepEqual(Array.from(p1.columns.value), [11, 31]);
    assert.deepEqual(Array.from(p0.nextObs), [4, 0], 'the last row ended the game: its final observation');
    assert.deepEqual([p0.numEnvs, p0.length, p0.policyId, p0.policyVersion], [1, 2, 'main', 3]);
  });

  it("counts each agent's episode return, rewards before its first move included", () => {
    assert.deepEqual(Array.from(p0.episodes.returns), [-0.25]);
    assert.deepEqual(Array.from(p1.episodes.returns), [2.125]);
    assert.deepEqual(Array.from(p1.episodes.lengths), [2]);
  });

  it('keeps an open transition for the next batch, bootstrapped from the next move', () => {
    const t = new AgentTrajectories(SPEC);
    const g = new MultiAgentGames({ ...games.opts, envs: [new ScriptedGame()], record: { main: t } });
    for (let i = 0; i < 3; i++) g.step(); // player_0 moved twice: one transition finished, one open
    const batches = t.drain({ workerId: 0, policyVersion: 0, seq: () => 0 });
    const first = batches.find((b) => b.obs[1] === 0)!;
    assert.deepEqual([first.length, first.rewards[0], first.terminated[0]], [1, 0.75, 0]);
    assert.deepEqual(Array.from(first.nextObs), [2, 0]);
    g.step();
    const rest = t.drain({ workerId: 0, policyVersion: 1, seq: () => 1 }).find((b) => b.obs[1] === 0)!;
    assert.deepEqual([Array.from(rest.obs), rest.rewards[0], rest.terminated[0]], [[2, 0], -1, 1]);
  });

  it('keeps every row of a slot past the size its arrays start with, and the open row across the drain', () => {
    const t = new AgentTrajectories(SPEC);
    const g = new MultiAgentGames({ ...games.opts, envs: [new ScriptedGame()], record: { main: t } });
    for (let i = 0; i < 12 * 4 + 1; i++) g.step(); // 12 games (24 rows of player_0's), then player_0's first move of the 13th, open
    const p0 = t.drain({ workerId: 0, policyVersion: 0, seq: () => 0 }).find((b) => b.obs[1] === 0)!;
    const twelve = <T>(pair: T[]) => Array.from({ length: 12 }, () => pair).flat();
    assert.equal(p0.length, 24);
    assert.deepEqual(Array.from(p0.obs), twelve([0, 0, 2, 0]));
    assert.deepEqual(Array.from(p0.rewards), twelve([0.75, -1]));
    assert.deepEqual(Array.from(p0.terminated), twelve([0, 1]));
    assert.deepEqual(Array.from(p0.columns.value), twelve([0, 20]));
    assert.deepEqual(Array.from(p0.episodes.returns), twelve([-0.25]));
    for (let i = 0; i < 3; i++) g.step(); // the 13th game ends
    const last = t.drain({ workerId: 0, policyVersion: 1, seq: () => 1 }).find((b) => b.obs[1] === 0)!;
    assert.deepEqual([Array.from(last.obs), Array.from(last.rewards), Array.from(last.columns.value)], [[0, 0, 2, 0], [0.75, -1], [0, 20]]);
  });
});

describe('Config: multiAgent', () => {
  const base = (multiAgent: unknown) => ({ algorithm: 'ppo', env: { id: 'ConnectFour-v0' }, stop: { iterations: 1 }, multiAgent });

  it('names a mapping to a policy that is not there', () => {
    assert.throws(() => validateConfig(base({ policies: { main: { train: true } }, mapping: { player_0: 'main', player_1: 'mian' } })), (e: Error) => e instanceof ConfigError && /multiAgent\.mapping\.player_1 \("mian"\) is not a policy of multiAgent\.policies \(main\)/.test(e.message));
  });

  it('wants a trained policy (one only with a league), and a mapping or a league', () => {
    assert.throws(() => validateConfig(base({ policies: { a: { builtin: 'random' } }, mapping: { player_0: 'a', player_1: 'a' } })), /multiAgent\.policies must have a policy with train: true \(the run trains it\), got none/);
    assert.throws(() => validateConfig(base({ policies: { a: { train: true }, b: { train: true } }, league: {} })), /multiAgent\.league trains one policy against its snapshots, and policies has 2 with train: true \(a, b\): keep one/);
    assert.doesNotThrow(() => validateConfig(base({ policies: { a: { train: true }, b: { train: true } }, mapping: { player_0: 'a', player_1: 'b' } })));
    assert.throws(() => validateConfig(base({ policies: { main: { train: true } } })), /multiAgent\.mapping is required without a league/);
    assert.throws(() => validateConfig(base({ policies: { main: { train: true } }, mapping: { player_0: 'main' }, league: {} })), /multiAgent\.mapping is not used with a league/);
    assert.throws(() => validateConfig(base({ policies: { main: { train: true }, foe: {} }, mapping: {} })), /multiAgent\.policies\.foe must set exactly one of train: true, checkpoint, builtin; got none/);
  });

  it('names an unknown key below multiAgent', () => {
    assert.throws(() => validateConfig(base({ policies: { main: { train: true } }, league: { snapshotEvry: 3 } })), /multiAgent\.league\.snapshotEvry is not a known key; did you mean "snapshotEvery"\?/);
  });

  it("names an agent the env does not have, and a built-in player it does not know, when the run starts", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-'));
    const run = (multiAgent: unknown) => train(base(multiAgent), { runDir: path.join(dir, String(Math.random())), log: () => {} });
    await assert.rejects(run({ policies: { main: { train: true } }, mapping: { player_0: 'main', player_2: 'main' } }), /multiAgent\.mapping\.player_2: player_2 is not an agent of ConnectFour-v0 \(player_0, player_1\)/);
    await assert.rejects(run({ policies: { main: { train: true }, foe: { builtin: 'minimax:9' } }, mapping: { player_0: 'main', player_1: 'foe' } }), /multiAgent\.policies\.foe\.builtin \("minimax:9"\) is not a built-in player of ConnectFour-v0 \(random, opportunist, minimax:1,/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('Elo ratings', () => {
  it('puts a 3-to-1 score at 400 log10(3) = 191 points over many games', () => {
    const r = eloRatings(['a', 'b'], [{ a: 'b', b: 'a', games: 4000, score: 3000 }]);
    assert.equal(r.a, 0, 'the first player is the anchor');
    assert.ok(Math.abs(r.b - 190.8) < 1, `b: ${r.b}`);
  });

  it('gives a player who never lost a finite rating above the ones it beat', () => {
    const r = eloRatings(['a', 'b'], [{ a: 'b', b: 'a', games: 10, score: 10 }]);
    assert.ok(Number.isFinite(r.b) && r.b > 100, `b: ${r.b}`);
  });

  it('rates the snapshots of a toy league in order when each is strictly stronger than the one before', () => {
    // The trained policy gains 100 Elo of true strength per era; a game's result is drawn from the true strengths.
    const cfg: LeagueConfig = { snapshotEvery: 1, gateGames: 200, maxSnapshots: 20, opponents: 'uniform', recent: 5, selfPlay: 0, seat: 'alternate', builtins: [], builtinShare: 0 };
    const league = new League(cfg, 'main', AGENTS, 1);
    const truth = new Map<string, number>();
    const rng = new Rng(7);
    const params = { weights: [], scalars: {} };
    truth.set(league.snapshot(0, params), 0);
    for (let era = 1; era <= 8; era++) {
      for (let g = 0; g < 300; g++) {
        const seats = league.matchup(g % 4);
        const opponent = Object.values(seats).find((id) => id !== 'main')!;
        const p = 1 / (1 + 10 ** ((truth.get(opponent)! - 100 * era) / 400));
        const won = rng.random() < p;
        const returns = Object.fromEntries(AGENTS.map((a) => [a, (seats[a] === 'main') === won ? 1 : -1]));
        league.record(seats, returns);
      }
      truth.set(league.afterIteration(era, params)!, 100 * era);
    }
    const ratings = league.ratings();
    const snapshots = [...truth.keys()];
    assert.deepEqual(snapshots.slice(0, 3), ['main.0', 'main.1', 'main.2']);
    for (let i = 1; i < snapshots.length; i++) assert.ok(ratings[snapshots[i]] > ratings[snapshots[i - 1]], `${snapshots[i]} ${ratings[snapshots[i]]} > ${snapshots[i - 1]} ${ratings[snapshots[i - 1]]}`);
    assert.ok(Math.abs(ratings['main.8'] - 800) < 150, `main.8: ${ratings['main.8']} (true 800)`);
  });
});

describe('League sampling', () => {
  const cfg = (over: Partial<LeagueConfig>): LeagueConfig => ({ snapshotEvery: 1, gateGames: 10, maxSnapshots: 20, opponents: 'uniform', recent: 2, selfPlay: 0, seat: 'alternate', builtins: [], builtinShare: 0, ...over });
  const params = { weights: [], scalars: {} };
  const filled = (c: LeagueConfig, n: number) => {
    const league = new League(c, 'main', AGENTS, 3);
    for (let i = 0; i < n; i++) league.snapshot(i, params);
    return league;
  };
  const draws = (league: League, n: number) => {
    const count: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const o = league.drawOpponent();
      count[o] = (count[o] ?? 0) + 1;
    }
    return count;
  };

  it('draws every snapshot under uniform, and only the newest `recent` under recent', () => {
    assert.deepEqual(Object.keys(draws(filled(cfg({}), 4), 400)).sort(), ['main.0', 'main.1', 'main.2', 'main.3']);
    assert.deepEqual(Object.keys(draws(filled(cfg({ opponents: 'recent' }), 4), 400)).sort(), ['main.2', 'main.3']);
  });

  it('draws, under prioritized, a snapshot the trained policy loses to more often than one it beats', () => {
    const league = filled(cfg({ opponents: 'prioritized' }), 2);
    const game = (opponent: string, mainWins: boolean) => league.record({ player_0: 'main', player_1: opponent }, { player_0: mainWins ? 1 : -1, player_1: mainWins ? -1 : 1 });
    for (let i = 0; i < 20; i++) [game('main.0', true), game('main.1', false)];
    // Win rates (20 + 1) / 22 and 1 / 22: weights (1/22)^2 and (21/22)^2, 441 to 1.
    const count = draws(league, 2000);
    assert.ok((count['main.1'] ?? 0) > 1900, JSON.stringify(count));
  });

  it('alternates the trained seat per env, and plays itself in every seat under selfPlay 1', () => {
    const league = filled(cfg({}), 1);
    assert.deepEqual([0, 1, 2].map(() => league.matchup(0).player_0), ['main', 'main.0', 'main']);
    assert.deepEqual(filled(cfg({ selfPlay: 1 }), 1).matchup(0), { player_0: 'main', player_1: 'main' });
  });

  it('seats a built-in player in its share of the games, and rates it with the snapshots', () => {
    const league = filled(cfg({ builtins: ['minimax:2'], builtinShare: 0.5 }), 1);
    const opponents = Array.from({ length: 1000 }, (_, i) => Object.values(league.matchup(i % 8)).find((id) => id !== 'main'));
    const share = opponents.filter((o) => o === 'minimax:2').length / 1000;
    assert.ok(Math.abs(share - 0.5) < 0.05, `share ${share}`);
    for (let i = 0; i < 30; i++) league.record({ player_0: 'minimax:2', player_1: 'main' }, { player_0: 1, player_1: -1 });
    assert.ok(league.ratings()['minimax:2'] > league.ratings().main + 100, JSON.stringify(league.ratings()));
  });

  it('keeps the first and the newest snapshots', () => {
    assert.deepEqual(Object.keys(filled(cfg({ maxSnapshots: 3 }), 6).frozenParams()), ['main.0', 'main.4', 'main.5']);
  });

  it('snapshots at the win-rate gate between the regular ones', () => {
    const league = filled(cfg({ snapshotEvery: 100, winRateGate: 0.8, gateGames: 10 }), 1);
    for (let i = 0; i < 9; i++) league.record({ player_0: 'main', player_1: 'main.0' }, { player_0: 1, player_1: -1 });
    assert.equal(league.afterIteration(3, params), undefined, '9 games: not yet');
    league.record({ player_0: 'main', player_1: 'main.0' }, { player_0: 0, player_1: 0 });
    assert.equal(league.afterIteration(4, params), 'main.4', '9.5 of 10 >= 0.8');
  });
});

describe('Multi-agent training', () => {
  it('trains PPO on ConnectFour-v0 against its league, rates it, checkpoints the league and resumes', async function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-train-'));
    const config = {
      algorithm: 'ppo',
      env: { id: 'ConnectFour-v0' },
      seed: 1,
      model: { hiddenSizes: [16] },
      workers: { envsPerWorker: 4, rolloutLength: 32 },
      ppo: { numEpochs: 1, minibatchSize: 64 },
      multiAgent: { policies: { main: { train: true } }, league: { snapshotEvery: 2 }, evaluate: ['random'] },
      evaluation: { every: 2, episodes: 4 },
      stop: { iterations: 4 },
    };
    const runDir = path.join(dir, 'run');
    const result = await train(config, { runDir, log: () => {} });
    const rows = fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => Number.isFinite(r.elo) && r.leagueSize >= 1), 'every row rates the trained policy');
    assert.deepEqual([rows[1]['winRate/random/player_0'] >= 0, rows[1]['winRate/random/player_1'] >= 0], [true, true]);
    const league = fs.readFileSync(path.join(runDir, 'league.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(league[3].ratings), ['main.0', 'main.2', 'main.4', 'main']);
    const names = (JSON.parse(fs.readFileSync(path.join(result.checkpoint, 'tensors.json'), 'utf8')) as { name: string }[]).map((t: { name: string }) => t.name) as string[];
    assert.ok(names.some((n) => n.startsWith('weights/main/')) && names.some((n) => n.startsWith('league/main.4/')), names.slice(0, 6).join(', '));
    // A snapshot plays and exports as any policy of the checkpoint.
    const snapshot = await loadCheckpointPolicy(result.checkpoint, [], 'main.2');
    snapshot.policy.dispose();
    assert.equal(snapshot.spec.policyId, 'main.2');
    assert.match(jsPolicyModule(result.checkpoint, 'main.2'), /export function act/);
    await assert.rejects(evaluateCheckpoint(result.checkpoint, { episodes: 2, seed: 0, stochastic: false, json: true, opponents: ['team'] }), /--opponent team: policy main plays no agent of the mapping of .* \(a league: no mapping\)/);
    const resumed = await train({ ...config, stop: { iterations: 5 } }, { runDir, resume: result.checkpoint, log: () => {} });
    assert.equal(resumed.iterations, 5);
    const last = fs.readFileSync(path.join(runDir, 'league.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).pop();
    assert.deepEqual(Object.keys(last.ratings), ['main.0', 'main.2', 'main.4', 'main'], 'the league came back from the checkpoint');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const algorithm of ['dqn', 'impala', 'appo']) {
    it(`trains ${algorithm} on ConnectFour-v0 self-play through the same seam (both seats one policy)`, async function () {
      this.timeout(60_000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rl-ma-${algorithm}-`));
      const config = {
        algorithm,
        env: { id: 'ConnectFour-v0' },
        model: { hiddenSizes: [8] },
        workers: { envsPerWorker: 4, rolloutLength: 16 },
        multiAgent: { policies: { main: { train: true } }, mapping: { player_0: 'main', player_1: 'main' } },
        stop: { envSteps: 1500 },
      };
      const result = await train(config, { runDir: path.join(dir, 'run'), log: () => {} });
      assert.ok(result.envSteps >= 1500 && result.episodes > 0, `${result.envSteps} steps, ${result.episodes} episodes`);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }

  it('lets a game that seats a snapshot the league just dropped play on to its end', async function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-drop-'));
    const config = {
      algorithm: 'ppo',
      env: { id: 'ConnectFour-v0' },
      model: { hiddenSizes: [8] },
      workers: { envsPerWorker: 8, rolloutLength: 4 },
      ppo: { numEpochs: 1, minibatchSize: 32 },
      multiAgent: { policies: { main: { train: true } }, league: { snapshotEvery: 1, maxSnapshots: 2, opponents: 'recent', selfPlay: 0 } },
      stop: { iterations: 12 },
    };
    const result = await train(config, { runDir: path.join(dir, 'run'), log: () => {} });
    assert.equal(result.iterations, 12);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("ships docs/multi-agent.md's Nim example as files, word for word, and it learns perfect play in its winning seat", async function () {
    this.timeout(120_000);
    const root = path.resolve(__dirname, '..', '..');
    const page = fs.readFileSync(path.join(root, 'docs/multi-agent.md'), 'utf8');
    const section = page.slice(page.indexOf('\n## A two-player env of your own\n'));
    assert.equal(/```ts\n([\s\S]*?)```/.exec(section)![1], fs.readFileSync(path.join(root, 'examples/nim/nim.ts'), 'utf8'));
    assert.equal(/```yaml\n([\s\S]*?)```/.exec(section)![1], fs.readFileSync(path.join(root, 'examples/nim/nim.yaml'), 'utf8'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-nim-'));
    const result = await train(loadConfig(path.join(root, 'examples/nim/nim.yaml')), { runDir: path.join(dir, 'run'), log: () => {} });
    // 21 stones: player_0 wins with perfect play (take 1, then leave multiples of 4), player_1 cannot.
    const rows = fs.readFileSync(path.join(result.runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const last = rows.filter((r) => r['winRate/perfect/player_0'] !== undefined).at(-1)!;
    assert.deepEqual([last.iteration, last['winRate/perfect/player_0'], last['winRate/random/player_0'], last['winRate/random/player_1']], [110, 1, 1, 1]);
    // rl evaluate of the checkpoint: as player_1 every game is lost to perfect play, whatever the policy;
    // against itself (greedy, Nim has no chance) every game is the same game, so one seat's wins are the other's losses.
    const report = (await evaluateCheckpoint(result.checkpoint, { episodes: 20, seed: 0, stochastic: false, json: true, opponents: ['perfect', 'self'], envDirs: [path.join(root, 'examples/nim')] })) as MatchReport;
    const [perfect, self] = report.matches;
    assert.deepEqual([report.policy, perfect.opponent, perfect.seats.player_1.losses, perfect.seats.player_1.returnMean], ['main', 'perfect', 20, -1]);
    assert.equal(self.seats.player_0.wins, self.seats.player_1.losses);
    assert.equal(self.seats.player_0.wins + self.seats.player_0.losses, 20);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
