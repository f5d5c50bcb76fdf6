import type { MetricSpec, ParamsById, PolicyParams } from '../../../core/algorithm';
import { Rng } from '../../../core/rng';
import type { AgentId, PerAgent } from '../../../envs/multi-agent';
import type { LeagueConfig } from '../../config/multi-agent';
import type { MatchupDraw } from '../../transport/messages';
import { eloRatings, type PairRecord } from './elo';
import type { Seats } from './games';

/** What the league adds to each iteration's record. */
export const leagueMetrics: readonly MetricSpec[] = [
  { key: 'elo', group: 'league', reduce: 'last', label: 'elo' },
  { key: 'eloNewestSnapshot', group: 'league', reduce: 'last' },
  { key: 'leagueScore', group: 'league', reduce: 'last', label: 'score' },
  { key: 'leagueGames', group: 'league', reduce: 'last' },
  { key: 'leagueSize', group: 'league', reduce: 'last' },
];

/** Scores of the trained policy against one opponent kept for `prioritized` (the newest). */
const RECENT_SCORES = 100;

/** The league as a checkpoint holds it (the snapshots' weights go as tensors, `weights/<id>/`). */
export interface LeagueState {
  snapshots: { id: string; iteration: number }[];
  rated: string[];
  records: PairRecord[];
  recent: Record<string, number[]>;
  since: { score: number; games: number };
  seatTurn: number[];
  rng: number[];
}

/**
 * Self-play against frozen snapshots of the trained policy. Each game seats the trained policy
 * (as `seat` says) against one snapshot, drawn as `opponents` says, or (`selfPlay` of the
 * games) against itself, or (`builtinShare`) against one of the env's built-in players
 * `builtins` (their ids are their names, `minimax:2`). A snapshot joins every `snapshotEvery` iterations, or as soon as the
 * trained policy's score against the league since the last one reaches `winRateGate`; the
 * league keeps its first and newest `maxSnapshots`. Ratings (`eloRatings`) are fitted to every
 * game against a snapshot: the games the trained policy played since snapshot k count as the
 * games of snapshot k + 1 (what it was then is what that snapshot froze), so every snapshot has
 * a rating and the trained policy's is that of its games since the newest.
 */
export class League {
  private snapshots: { id: string; iteration: number; params: PolicyParams }[] = [];
  /** Every snapshot ever taken, in order: the rated players (with the trained policy). */
  private rated: string[] = [];
  private records: PairRecord[] = [];
  private recent: Record<string, number[]> = {};
  private since = { score: 0, games: 0 };
  private iterationScore = { score: 0, games: 0 };
  private seatTurn: number[] = [];
  private readonly rng: Rng;

  constructor(
    private readonly cfg: LeagueConfig,
    readonly trained: string,
    private readonly agents: readonly AgentId[],
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** The snapshots in the league now, by id: their params, for the players of their games. */
  frozenParams(): ParamsById {
    return Object.fromEntries(this.snapshots.map((s) => [s.id, s.params]));
  }

  /** Adds a snapshot of the trained policy's `params` at `iteration`; returns its id (`main.12`). */
  snapshot(iteration: number, params: PolicyParams): string {
    const id = `${this.trained}.${iteration}`;
    // The trained policy's games since the last snapshot were played by what this one freezes.
    for (const r of this.records) {
      if (r.a === this.trained) r.a = id;
      if (r.b === this.trained) r.b = id;
    }
    this.snapshots.push({ id, iteration, params: { weights: params.weights.map((w) => ({ ...w, data: w.data.slice() })), scalars: { ...params.scalars } } });
    this.rated.push(id);
    if (this.snapshots.length > this.cfg.maxSnapshots) this.snapshots.splice(1, 1);
    this.since = { score: 0, games: 0 };
    return id;
  }

  /** After iteration `iteration`: a snapshot if one is due (by `snapshotEvery`, or the win-rate gate); its id, or undefined. */
  afterIteration(iteration: number, params: PolicyParams): string | undefined {
    const every = this.cfg.snapshotEvery > 0 && iteration % this.cfg.snapshotEvery === 0;
    const gate = this.cfg.winRateGate !== undefined && this.since.games >= this.cfg.gateGames && this.since.score / this.since.games >= this.cfg.winRateGate;
    return every || gate ? this.snapshot(iteration, params) : undefined;
  }

  /** The seats of env `env`'s next game, drawn as `draw()` says with the league's generator. */
  matchup(env: number): Seats {
    return drawMatchup(this.draw(), this.rng, { trained: this.trained, agents: this.agents, seatTurn: this.seatTurn }, env);
  }

  /** The opponent of a game, by `opponents`: uniform, uniform over the newest `recent`, or prioritized (weight (1 - win rate)^2). */
  drawOpponent(): string {
    return pickOpponent(this.draw(), this.rng);
  }

  /**
   * How games are drawn now: the config's shares and seat rule, and the snapshots an opponent
   * is drawn from, by `opponents` (all of them; the newest `recent`; or all, weighted by
   * (1 - win rate)^2). What the learner sends its workers with each weights message.
   */
  draw(): MatchupDraw {
    const s = this.snapshots;
    const pool = this.cfg.opponents === 'recent' ? s.slice(Math.max(0, s.length - this.cfg.recent)) : s;
    const weights = this.cfg.opponents === 'prioritized' ? pool.map((x) => (1 - this.winRate(x.id)) ** 2) : null;
    return { selfPlay: this.cfg.selfPlay, builtinShare: this.cfg.builtinShare, builtins: [...this.cfg.builtins], seat: this.cfg.seat, opponents: pool.map((x) => x.id), weights };
  }

  /** Whether `id` is a player the league rates (the trained policy, a snapshot ever taken, a built-in): a game reported against anyone else is not recorded. */
  knows(id: string): boolean {
    return id === this.trained || this.rated.includes(id) || this.cfg.builtins.includes(id);
  }

  /** The trained policy's recent score against `opponent` (draws half), with one win and one loss assumed besides, so that an unplayed opponent is at 1/2. */
  winRate(opponent: string): number {
    const r = this.recent[opponent] ?? [];
    return (r.reduce((a, b) => a + b, 0) + 1) / (r.length + 2);
  }

  /** A game ended with `seats` and `returns`; a game of the trained policy against a snapshot counts (its score: the higher return wins). */
  record(seats: Seats, returns: PerAgent<number>): void {
    const mine = this.agents.filter((a) => seats[a] === this.trained);
    const theirs = this.agents.filter((a) => seats[a] !== this.trained);
    if (mine.length === 0 || theirs.length === 0) return; // self-play: no one to rate against
    const opponent = seats[theirs[0]];
    if (!this.knows(opponent)) return; // a worker's report naming no player of this league
    const [a, b] = [sum(mine.map((x) => returns[x] ?? 0)), sum(theirs.map((x) => returns[x] ?? 0))];
    const score = a > b ? 1 : a < b ? 0 : 0.5;
    let r = this.records.find((x) => x.a === this.trained && x.b === opponent);
    if (!r) this.records.push((r = { a: this.trained, b: opponent, games: 0, score: 0 }));
    r.games += 1;
    r.score += score;
    const recent = (this.recent[opponent] ??= []);
    recent.push(score);
    if (recent.length > RECENT_SCORES) recent.shift();
    this.since.score += score;
    this.since.games += 1;
    this.iterationScore.score += score;
    this.iterationScore.games += 1;
  }

  /** Every rated player's Elo: each snapshot ever taken, the built-in players, and the trained policy. */
  ratings(): Record<string, number> {
    return eloRatings([...this.rated, ...this.cfg.builtins, this.trained], this.records);
  }

  /** The league's figures for the iteration's record (`leagueMetrics`); the iteration's score counts restart. */
  metrics(): Record<string, number> {
    const ratings = this.ratings();
    const newest = this.rated[this.rated.length - 1];
    const { score, games } = this.iterationScore;
    this.iterationScore = { score: 0, games: 0 };
    return {
      elo: ratings[this.trained],
      ...(newest !== undefined ? { eloNewestSnapshot: ratings[newest] } : {}),
      ...(games > 0 ? { leagueScore: score / games } : {}),
      leagueGames: games,
      leagueSize: this.snapshots.length,
    };
  }

  getState(): LeagueState {
    return {
      snapshots: this.snapshots.map(({ id, iteration }) => ({ id, iteration })),
      rated: [...this.rated],
      records: this.records.map((r) => ({ ...r })),
      recent: Object.fromEntries(Object.entries(this.recent).map(([k, v]) => [k, [...v]])),
      since: { ...this.since },
      seatTurn: [...this.seatTurn],
      rng: this.rng.getState(),
    };
  }

  /** Restores `getState()`'s state, the snapshots' params from `params` (by id). */
  setState(s: LeagueState, params: (id: string) => PolicyParams): void {
    this.snapshots = s.snapshots.map(({ id, iteration }) => ({ id, iteration, params: params(id) }));
    [this.rated, this.records, this.recent, this.since, this.seatTurn] = [s.rated, s.records, s.recent, s.since, s.seatTurn];
    this.rng.setState(s.rng);
  }
}

/**
 * The seats of env `env`'s next game, drawn from `draw` with `rng`: self-play (the `selfPlay`
 * share, and every game while there is no snapshot), a built-in player (`builtinShare`), or a
 * snapshot (`pickOpponent`); the trained policy's seat by turns (`seatTurn`, per env) or drawn.
 * The league draws with it in the learner, each worker with its own generator.
 */
export function drawMatchup(draw: MatchupDraw, rng: Rng, who: { trained: string; agents: readonly AgentId[]; seatTurn: number[] }, env: number): Seats {
  const { trained, agents, seatTurn } = who;
  const u = rng.random();
  if (draw.opponents.length === 0 || u < draw.selfPlay) return Object.fromEntries(agents.map((a) => [a, trained]));
  const opponent = u < draw.selfPlay + draw.builtinShare ? draw.builtins[rng.int(draw.builtins.length)] : pickOpponent(draw, rng);
  while (seatTurn.length <= env) seatTurn.push(seatTurn.length % agents.length);
  const seat = draw.seat === 'random' ? rng.int(agents.length) : seatTurn[env]++ % agents.length;
  return Object.fromEntries(agents.map((a, k) => [a, k === seat ? trained : opponent]));
}

/** A snapshot of `draw.opponents`: uniformly, or by its weight. */
export function pickOpponent(draw: Pick<MatchupDraw, 'opponents' | 'weights'>, rng: Rng): string {
  const { opponents: ids, weights } = draw;
  if (!weights) return ids[rng.int(ids.length)];
  let u = rng.random() * sum(weights);
  for (let i = 0; i < ids.length; i++) if ((u -= weights[i]) < 0) return ids[i];
  return ids[ids.length - 1];
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
