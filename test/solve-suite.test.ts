import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { builtinTeamReturn, formatSummary, formatTable, MATCH_BARS, matchCells, merged, stopOf, thresholdOf, type SuiteRow } from '../bench/solve-suite';
import type { MatchReport } from '../src/evaluate-matches';
import type { SeatResult } from '../src/runtime/multi-agent/matches';
import { loadConfig } from '../src/config/load';

const root = path.resolve(__dirname, '..', '..');
const config = (name: string) => loadConfig(path.join(root, 'configs', `${name}.yaml`));

const row = (over: Partial<SuiteRow>): SuiteRow => ({
  config: 'ppo-lunarlander-workers',
  seed: 2,
  envSteps: 880_640,
  wallSeconds: 512.4,
  stopReason: 'evalReturnMean 221.0, then 230.5 >= 220 (two evaluations in a row)',
  checkpoint: { kind: 'best', envSteps: 860_160, iteration: 210 },
  evalReturnMean: 189.43,
  evalReturnStd: 80.12,
  threshold: 200,
  thresholdFrom: 'env',
  pass: false,
  ...over,
});

describe('solve suite', () => {
  it("sums up each config's seeds as rl tune --seeds does: the IQM of the scores and of the steps, a seeded 95% interval, the passes", () => {
    // Four seeds: the IQM drops the lowest and the highest (scores 2 and 3 kept: 2.5; steps 20k and 30k: 25k).
    const scores = [10, 2, 3, 1];
    const rows = scores.map((s, seed) => row({ config: 'a', seed, evalReturnMean: s, envSteps: [40_000, 20_000, 30_000, 10_000][seed], pass: s >= 3 }));
    const text = formatSummary([...rows, row({ config: 'b', seed: 0 })], false).split('\n');
    assert.equal(text.length, 3, text.join('\n'));
    const a = /^a +4 +2\.5 \[(\S+), (\S+)\] +25,000 \[(\S+), (\S+)\] +2\/4$/.exec(text[1]);
    assert.ok(a, text[1]);
    const [lo, hi] = [Number(a[1]), Number(a[2].replace(']', ''))];
    // Resamples of four values: the IQM of any lies within the values' range, and draws of all-1s or all-10s are rare.
    assert.ok(lo >= 1 && lo <= 2.5 && hi >= 2.5 && hi <= 10, `${lo}, ${hi}`);
    assert.deepEqual(formatSummary(rows, false), formatSummary(rows, false), 'the same rows give the same interval');
    assert.match(text[2], /^b +1 +189\.4 \[189\.4, 189\.4\] +880,640 \[880,640, 880,640\] +0\/1$/);
  });

  it('holds a score to the env registry reward threshold, else to a figure from a paper for the config, else to its issue target, else to the stop rule', () => {
    assert.deepEqual(thresholdOf(config('ppo-lunarlander-workers')), { threshold: 200, thresholdFrom: 'env' });
    assert.deepEqual(thresholdOf(config('ppo-pendulum'), 'ppo-pendulum'), { threshold: -250, thresholdFrom: 'stop' });
    assert.deepEqual(thresholdOf(config('sac-pendulum'), 'sac-pendulum'), { threshold: -200, thresholdFrom: 'target' }, "under the SB3 zoo's figure: its stop rule is envSteps alone");
    assert.deepEqual(thresholdOf(config('ppo-minatar-breakout'), 'ppo-minatar-breakout'), { threshold: 10, thresholdFrom: 'paper' }, "the MinAtar paper's DQN figure, not the stop rule's 12");
    assert.deepEqual(thresholdOf(config('dqn-mask-tictactoe'), 'dqn-mask-tictactoe'), { threshold: 0.96, thresholdFrom: 'target' }, 'issue 26: 98% of games won or drawn');
  });

  it('works out why a run stopped from its progress records, two evaluations in a row for an evaluation stop', () => {
    const cfg = config('ppo-lunarlander-workers');
    const at = (iteration: number, evalReturnMean?: number) => ({ iteration, envSteps: iteration * 4096, wallSeconds: iteration, episodeReturnMean: 150, ...(evalReturnMean === undefined ? {} : { evalReturnMean }) });
    assert.equal(cfg.stop.evalReturnMean, 230, "the shipped config's bar, which these records are built around");
    assert.equal(stopOf(cfg, [at(5, 235), at(6), at(10, 240)]), 'evalReturnMean 235.0, then 240.0 >= 230 (two evaluations in a row)');
    assert.equal(stopOf(cfg, [at(5, 100), at(10, 240)]), 'interrupted');
    assert.equal(stopOf(cfg, [at(489, 100)]), 'envSteps 2002944 >= 2000000');
  });

  it('prints one Markdown row per run with the kept checkpoint, the score and whether it passes', () => {
    const md = formatTable([row({}), row({ seed: 0, evalReturnMean: 240, pass: true, checkpoint: { kind: 'latest', envSteps: 1, iteration: 1 } })], true).split('\n');
    assert.equal(md.length, 4);
    assert.match(md[0], /^\| config \| seed \| env steps \| wall s \|/);
    assert.equal(md[2], '| ppo-lunarlander-workers | 2 | 880,640 | 512 | evalReturnMean 221.0, then 230.5 >= 220 (2 in a row) | best, at 860,160 | 189.4 ± 80.1 | NO (>= 200) |');
    assert.match(md[3], /\| final \| 240\.0 ± 80\.1 \| yes \(>= 200\) \|$/);
  });

  it('merges a new run into the kept rows in place of the same config and seed, in config then seed order', () => {
    const rows = merged([row({ seed: 2 }), row({ config: 'dqn-catch', seed: 0 })], [row({ seed: 2, evalReturnMean: 250, pass: true }), row({ seed: 0 })]);
    assert.deepEqual(rows.map((r) => `${r.config}/${r.seed}/${r.evalReturnMean}`), ['dqn-catch/0/189.43', 'ppo-lunarlander-workers/0/189.43', 'ppo-lunarlander-workers/2/250']);
  });

  describe('multi-agent rows', () => {
    const seat = (games: number, wins: number, losses: number, returnMean = (wins - losses) / games): SeatResult => ({ games, wins, draws: games - wins - losses, losses, returnMean });
    const connect4: MatchReport = {
      policy: 'main',
      games: 200,
      matches: [
        { opponent: 'random', seats: { player_0: seat(200, 199, 1), player_1: seat(200, 197, 3) } },
        { opponent: 'minimax:2', seats: { player_0: seat(200, 200, 0), player_1: seat(200, 160, 40) } },
      ],
    };

    it("holds each seat against each opponent to its bar: Connect Four's 99% against random and 80% against minimax:2", () => {
      const cells = matchCells(connect4, MATCH_BARS['ppo-selfplay-connect4'].bars, () => assert.fail('no baseline for fixed bars'));
      assert.deepEqual(cells.map((c) => [c.opponent, c.seat, c.winRate, c.pass]), [
        ['random', 'player_0', 0.995, true],
        ['random', 'player_1', 0.985, false], // 3 losses in 200: under 99%
        ['minimax:2', 'player_0', 1, true],
        ['minimax:2', 'player_1', 0.8, true], // 160 of 200: exactly the bar
      ]);
    });

    it("holds a cooperative team's mean return to the built-in team's, worked out by the given baseline", () => {
      const report: MatchReport = { policy: 'a', games: 200, matches: [{ opponent: 'team', seats: { agent_0: seat(200, 0, 0, -0.82) } }] };
      const asked: string[] = [];
      const cells = matchCells(report, MATCH_BARS['ppo-spread-line-separate'].bars, (b) => (asked.push(b), -2.75));
      assert.deepEqual(asked, ['greedy']);
      assert.deepEqual(cells.map((c) => [c.seat, c.returnMean, c.bar, c.pass]), [['agent_0', -0.82, -2.75, true]]);
      assert.throws(() => matchCells(report, [{ opponent: 'self', measure: 'returnMean', bar: 0 }], () => 0), /rl evaluate's report has no match against self \(it has team\)/);
    });

    it('prints a multi-agent row as its win rates per seat and its bars', () => {
      const matches = matchCells(connect4, MATCH_BARS['ppo-selfplay-connect4'].bars, () => 0);
      const md = formatTable([row({ config: 'ppo-selfplay-connect4', matches, pass: false, threshold: 0.99, thresholdFrom: 'target' })], true).split('\n');
      assert.equal(md[2], '| ppo-selfplay-connect4 | 2 | 880,640 | 512 | evalReturnMean 221.0, then 230.5 >= 220 (2 in a row) | best, at 860,160 | random 99.5 / 98.5% won, minimax:2 100.0 / 80.0% won | NO (>= 99% won vs random, >= 80% won vs minimax:2, target) |');
    });

    it('has bars for every shipped multi-agent config, against opponents rl evaluate knows', () => {
      const shipped = fs.readdirSync(path.join(root, 'configs')).filter((f) => f.endsWith('.yaml') && !f.startsWith('tune-')).map((f) => f.slice(0, -5));
      const multi = shipped.filter((c) => config(c).multiAgent !== undefined);
      assert.deepEqual(multi.filter((c) => !MATCH_BARS[c]), []);
      assert.ok(multi.length >= 3, multi.join(', '));
      for (const c of multi) for (const b of MATCH_BARS[c].bars) assert.ok(['random', 'minimax:2', 'self', 'team'].includes(b.opponent), `${c}: ${b.opponent}`);
    });

    it("plays SpreadLine-v0's greedy team the same for the same seed, between the random team and the oracle", () => {
      const cfg = config('ppo-spread-line');
      const greedy = builtinTeamReturn(cfg, 'greedy', 200);
      assert.equal(builtinTeamReturn(cfg, 'greedy', 200), greedy);
      const random = builtinTeamReturn(cfg, 'random', 200);
      // docs/multi-agent.md, over 2,000 episodes: greedy -2.66, random -4.79, the oracle -0.38.
      assert.ok(random < greedy && greedy < -0.38 && Math.abs(greedy + 2.66) < 0.3, `greedy ${greedy}, random ${random}`);
    });
  });
});
