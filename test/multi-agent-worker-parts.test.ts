import { strict as assert } from 'node:assert';
import { DEFAULT_POLICY, type TrajectoryBatch } from '../core/algorithm';
import { Rng } from '../core/rng';
import type { LeagueConfig } from '../src/config/multi-agent';
import { drawMatchup, League } from '../src/runtime/multi-agent/league';
import { RequestLedger } from '../src/runtime/pool/ledger';
import { batchExpectation, decodeWorkerMessage, encode, MessageRejected, decodeLearnerMessage, type MatchupDraw, type WorkerMessage } from '../src/transport/protocol';
import { makeBatch, makeParams, makeSpec } from './helpers/protocol-fixtures';
import { ppo } from '../algorithms/ppo/ppo';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { makeMultiAgentEnv } from '../envs/registry';
import { MultiAgentRollout } from '../src/runtime/multi-agent/worker-rollout';
import { selectBackend } from '../src/backend';

/**
 * The parts of multi-agent sampling in workers, in-process: workers draw each game's seats
 * from the league's draw as the league itself does, a `games` message (batches and game
 * results) is checked field by field, the ledger takes its batches as one answer, and a
 * worker's rollout answers with the trained policy's transitions and its finished games.
 */

const AGENTS = ['player_0', 'player_1'];
const cfg = (over: Partial<LeagueConfig>): LeagueConfig => ({ snapshotEvery: 1, gateGames: 10, maxSnapshots: 20, opponents: 'uniform', recent: 2, selfPlay: 0, seat: 'alternate', builtins: [], builtinShare: 0, ...over });
const params = { weights: [], scalars: {} };

describe("A league's draw in the workers", () => {
  for (const opponents of ['uniform', 'recent', 'prioritized'] as const) {
    it(`gives a worker's generator the seats the league draws with the same generator (${opponents} opponents, built-ins, self-play)`, () => {
      const league = new League(cfg({ opponents, selfPlay: 0.2, builtins: ['random'], builtinShare: 0.3 }), 'main', AGENTS, 42);
      for (const it of [0, 1, 2, 3]) league.snapshot(it, params);
      for (let g = 0; g < 20; g++) league.record({ player_0: 'main', player_1: `main.${g % 4}` }, { player_0: g % 3 === 0 ? 1 : -1, player_1: g % 3 === 0 ? -1 : 1 });
      const draw = league.draw();
      const rng = new Rng(42);
      const seatTurn: number[] = [];
      const theirs = Array.from({ length: 300 }, (_, g) => drawMatchup(draw, rng, { trained: 'main', agents: AGENTS, seatTurn }, g % 5));
      const ours = Array.from({ length: 300 }, (_, g) => league.matchup(g % 5));
      assert.deepEqual(theirs, ours);
    });
  }

  it('draws self-play, built-in and snapshot games in the shares of the draw, snapshots by their weights, and alternates the seat per env', () => {
    const draw: MatchupDraw = { selfPlay: 0.2, builtinShare: 0.3, builtins: ['random'], seat: 'alternate', opponents: ['a', 'b'], weights: [3, 1] };
    const rng = new Rng(7);
    const seatTurn: number[] = [];
    const n = 20_000;
    const count: Record<string, number> = {};
    const seats: number[][] = [[], []];
    for (let g = 0; g < n; g++) {
      const s = drawMatchup(draw, rng, { trained: 'main', agents: AGENTS, seatTurn }, g % 2);
      const other = Object.values(s).find((id) => id !== 'main') ?? 'self';
      count[other] = (count[other] ?? 0) + 1;
      if (other !== 'self') seats[g % 2].push(s.player_0 === 'main' ? 0 : 1);
    }
    // Expected shares: self 0.2, random 0.3, a 0.5 x 3/4 = 0.375, b 0.5 x 1/4 = 0.125 (4 standard errors at most 0.012).
    for (const [who, share] of [['self', 0.2], ['random', 0.3], ['a', 0.375], ['b', 0.125]] as const) {
      assert.ok(Math.abs(count[who] / n - share) < 0.012, `${who}: ${count[who] / n} against ${share}`);
    }
    // Env 0 seats the trained policy 0, 1, 0, ...; env 1 starts at 1.
    assert.deepEqual(seats[0].slice(0, 4), [0, 1, 0, 1]);
    assert.deepEqual(seats[1].slice(0, 4), [1, 0, 1, 0]);
  });

  it('draws only self-play while the draw names no snapshot', () => {
    const draw: MatchupDraw = { selfPlay: 0, builtinShare: 0, builtins: [], seat: 'random', opponents: [], weights: null };
    assert.deepEqual(drawMatchup(draw, new Rng(1), { trained: 'main', agents: AGENTS, seatTurn: [] }, 0), { player_0: 'main', player_1: 'main' });
  });

  it('records no game a worker reports against a player the league does not know', () => {
    const league = new League(cfg({}), 'main', AGENTS, 1);
    league.snapshot(0, params);
    league.record({ player_0: 'main', player_1: 'stranger' }, { player_0: 1, player_1: -1 });
    assert.equal(league.metrics().leagueGames, 0);
    league.record({ player_0: 'main', player_1: 'main.0' }, { player_0: 1, player_1: -1 });
    assert.equal(league.metrics().leagueGames, 1);
  });
});

describe('The games message', () => {
  const spec = makeSpec();
  const expect = batchExpectation({ [DEFAULT_POLICY]: spec }, undefined, AGENTS);
  const games = (over: Partial<Extract<WorkerMessage, { type: 'games' }>> = {}): Extract<WorkerMessage, { type: 'games' }> => {
    const second = { ...makeBatch(), seq: 8 };
    return { type: 'games', workerId: 2, instance: '0123456789abcdef', batches: [makeBatch(), second], results: [{ seats: { player_0: 'default', player_1: 'random' }, returns: { player_0: 1, player_1: -1 } }], ...over };
  };
  const rejected = (msg: WorkerMessage, e = expect) => {
    try {
      decodeWorkerMessage(encode(msg), e);
    } catch (err) {
      if (err instanceof MessageRejected) return `${err.kind}: ${err.message}`;
      throw err;
    }
    return 'accepted';
  };

  it('round-trips batches and game results', () => {
    const msg = games();
    const back = decodeWorkerMessage(encode(msg), expect) as typeof msg;
    assert.deepEqual(back, msg);
  });

  it('refuses results that seat an agent the run lacks or leave one out, non-finite returns, falling sequence numbers, and any games in a single-agent run', () => {
    const seat = (seats: Record<string, string>) => games({ results: [{ seats, returns: {} }] });
    assert.equal(rejected(seat({ player_0: 'default' })), "badField: 'games' message: results[0].seats has [player_0], expected [player_0, player_1]");
    assert.equal(rejected(seat({ player_0: 'default', player_1: 'x', player_2: 'y' })), "badField: 'games' message: results[0].seats has [player_0, player_1, player_2], expected [player_0, player_1]");
    assert.equal(rejected(games({ results: [{ seats: { player_0: 'a', player_1: 'b' }, returns: { player_0: NaN } }] })), "nonFinite: 'games' message: results[0].returns.player_0 must be a finite number, got NaN");
    assert.equal(rejected(games({ results: [{ seats: { player_0: 'a', player_1: 'b' }, returns: { player_9: 1 } }] })), `badField: 'games' message: results[0].returns names "player_9", not an agent of this run (player_0, player_1)`);
    assert.equal(rejected(games({ batches: [makeBatch(), makeBatch()] })), "badField: 'games' message: batches[1].seq (7) must be greater than the one before (7)");
    assert.equal(rejected(games({ batches: [] })), "badField: 'games' message: batches must hold at least one batch");
    assert.equal(rejected(games(), batchExpectation({ [DEFAULT_POLICY]: spec })), "badField: 'games' message: a single-agent run takes batches one by one (batch), not games");
  });

  it("checks a weights message's draw: shares, seat rule, one weight per opponent", () => {
    const draw: MatchupDraw = { selfPlay: 0.2, builtinShare: 0.3, builtins: ['random'], seat: 'alternate', opponents: ['main.0', 'main.5'], weights: [0.25, 1] };
    const weights = (d: unknown) => {
      try {
        decodeLearnerMessage(encode({ type: 'weights', policyVersion: 1, params: makeParams(), draw: d as MatchupDraw }));
        return 'accepted';
      } catch (err) {
        if (err instanceof MessageRejected) return `${err.kind}: ${err.message}`;
        throw err;
      }
    };
    assert.equal(weights(draw), 'accepted');
    assert.equal(weights({ ...draw, selfPlay: 0.8 }), "badField: 'weights' message: draw.selfPlay + draw.builtinShare must be <= 1");
    assert.equal(weights({ ...draw, weights: [1] }), "badField: 'weights' message: draw.weights has 1 entries, draw.opponents 2");
    assert.equal(weights({ ...draw, seat: 'left' }), `badField: 'weights' message: draw.seat must be 'alternate' or 'random', got "left"`);
  });
});

describe("The ledger and a multi-agent worker's answer", () => {
  const batch = (seq: number) => ({ workerId: 0, seq, policyVersion: 0, numEnvs: 1, length: 3 }) as TrajectoryBatch;

  it('takes several batches as the answer to one request, and counts the sequence on from the last of them', () => {
    const l = new RequestLedger({ rolloutLength: 2, streaming: false, timeoutMs: 10_000 });
    l.join('a', 0, 4, 'worker 0');
    assert.deepEqual(l.ask(8, 0), ['a']);
    assert.equal(l.answer('a', 0, [batch(0), batch(1), batch(2)], 1), null);
    assert.equal(l.inFlight('a'), 0);
    assert.deepEqual(l.takeAll().map((b) => b.seq), [0, 1, 2]);
    l.ask(8, 2);
    assert.deepEqual(l.answer('a', 0, [batch(2), batch(3)], 3), { kind: 'replayed', why: 'worker 0 sent batch seq 2 after 2', failure: true });
  });
});

describe("A multi-agent worker's rollout", () => {
  const env = makeMultiAgentEnv('ConnectFour-v0');
  const spaces = { observationSpace: env.observationSpaces.player_0.toSpec(), actionSpace: env.actionSpaces.player_0.toSpec(), actionMask: true };
  env.close();
  const model = { hiddenSizes: [8], activation: 'tanh' as const, sharedLayers: false };
  const config = ppoConfigSchema.parse({});
  const main = ppo.policySpec({ config, model, ...spaces, policyId: 'main' });
  const params = () => {
    const algo = ppo.create({ config, model, ...spaces, seed: 1, totalEnvs: 2, rolloutLength: 4 });
    const p = algo.getParams()[DEFAULT_POLICY];
    algo.dispose();
    return p;
  };
  const rollout = () =>
    new MultiAgentRollout({
      workerId: 1, envId: 'ConnectFour-v0', envConfig: {}, numEnvs: 2, rolloutLength: 6, seed: 9,
      policies: { main },
      multiAgent: { trained: ['main'], agents: AGENTS, builtins: { random: 'random' }, mapping: null },
      createPolicy: (s) => ppo.createPolicy(s),
    });
  const never = () => false;

  before(async () => {
    await selectBackend('wasm');
  });

  it("answers with at least numEnvs x rolloutLength of the trained policy's transitions and the games it finished, seated by the league's draw", async () => {
    const r = rollout();
    try {
      const p = params();
      r.setParams({ policyVersion: 3, params: { main: p, 'main.0': p }, draw: { selfPlay: 0, builtinShare: 0.5, builtins: ['random'], seat: 'alternate', opponents: ['main.0'], weights: null } });
      assert.equal(r.policyVersion, 3);
      const answers = [await r.sampleAsync(never, () => {}, never), await r.sampleAsync(never, () => {}, never)];
      const results = answers.flatMap((a) => (a?.type === 'games' ? a.results : []));
      for (const a of answers) {
        assert.ok(a?.type === 'games');
        assert.ok(a.batches.reduce((n, b) => n + b.length, 0) >= 2 * 6 && a.batches.every((b) => b.policyId === 'main' && b.workerId === 1 && b.policyVersion === 3));
      }
      assert.ok(results.length > 0, 'games finished');
      for (const g of results) {
        const opponents = Object.values(g.seats).filter((id) => id !== 'main');
        assert.equal(opponents.length, 1, JSON.stringify(g.seats));
        assert.ok(['main.0', 'random'].includes(opponents[0]), opponents[0]);
        assert.equal(g.returns.player_0 + g.returns.player_1, 0, 'zero-sum');
      }
      const seqs = answers.flatMap((a) => (a?.type === 'games' ? a.batches.map((b) => b.seq) : []));
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'sequence numbers rise');
      // After an env error: fresh envs, the same policies, the sequence going on.
      const fresh = r.recreate(1);
      const next = await fresh.sampleAsync(never, () => {}, never);
      assert.ok(next?.type === 'games' && next.batches[0].seq === seqs[seqs.length - 1] + 1, `seq ${next?.type === 'games' ? next.batches[0].seq : '-'} after ${seqs[seqs.length - 1]}`);
      fresh.close();
    } catch (err) {
      r.close();
      throw err;
    }
  });

  it('names the trained policy a weights message lacks, and checks every other network policy it carries (not the built-in players)', () => {
    const r = rollout();
    try {
      const p = params();
      assert.deepEqual(r.networks({ 'main.0': p }), { ids: [], missing: 'main' });
      assert.deepEqual(r.networks({ main: p, 'main.4': p, random: p }), { ids: ['main', 'main.4'] });
    } finally {
      r.close();
    }
  });
});
