import type { MetricSpec } from '../../../core/algorithm';
import { Rng } from '../../../core/rng';
import type { AgentId, MultiAgentEnv } from '../../../envs/multi-agent';
import { MultiAgentGames, type Player } from './games';

/** One seat's games: how many, the player's wins, draws and losses (by return: the higher wins), and its mean return. */
export interface SeatResult {
  games: number;
  wins: number;
  draws: number;
  losses: number;
  /** The player's mean return in this seat (a two-player zero-sum game: (wins - losses) / games). */
  returnMean: number;
}

/** Envs playing a match side by side (one batched forward pass per step over them). */
const MATCH_ENVS = 32;

/**
 * `player` against `opponent`, `games` games in each seat (as `player_0`, then as `player_1`, ...;
 * the opponent in every other seat), on envs `makeEnv` builds, seeded by `seed`: each seat's
 * wins, draws and losses. A game is won by the higher return of the player's seat than of the
 * others' (a two-player zero-sum game: +1 against -1). `opponent` may depend on the seat it
 * takes (a team: each agent's own policy); `seats` limits the player's seats (default: all).
 */
export function playMatch(opts: { makeEnv: () => MultiAgentEnv; seed: number; player: Player; opponent: Player | ((seat: AgentId) => Player); games: number; seats?: AgentId[] }): Record<AgentId, SeatResult> {
  const envs = Array.from({ length: Math.min(MATCH_ENVS, opts.games * 2) }, () => opts.makeEnv());
  try {
    const agents = opts.seats ?? envs[0].possibleAgents;
    const others = envs[0].possibleAgents;
    const opponentIn = typeof opts.opponent === 'function' ? opts.opponent : () => opts.opponent as Player;
    const results: Record<AgentId, SeatResult> = Object.fromEntries(agents.map((a) => [a, { games: 0, wins: 0, draws: 0, losses: 0, returnMean: 0 }]));
    const assigned: Record<AgentId, number> = Object.fromEntries(agents.map((a) => [a, 0]));
    const rng = new Rng(opts.seed);
    const games = new MultiAgentGames({
      envs,
      seeds: envs.map((_, i) => opts.seed * 1000 + i),
      player: (id) => (id === 'player' ? opts.player : opponentIn(id.slice('opponent:'.length))),
      record: {},
      matchup: () => {
        const seat = agents.find((a) => assigned[a] < opts.games);
        if (seat === undefined) return null;
        assigned[seat] += 1;
        return Object.fromEntries(others.map((a) => [a, a === seat ? 'player' : `opponent:${a}`]));
      },
      onGameEnd: (_, seats, returns) => {
        const seat = agents.find((a) => seats[a] === 'player')!;
        const theirs = others.filter((a) => a !== seat).map((a) => returns[a] ?? 0);
        const mine = returns[seat] ?? 0;
        const r = results[seat];
        r.games += 1;
        r.returnMean += (mine - r.returnMean) / r.games;
        if (theirs.every((o) => mine > o)) r.wins += 1;
        else if (theirs.some((o) => mine < o)) r.losses += 1;
        else r.draws += 1;
      },
      rng,
    });
    const allSeated = () => agents.every((a) => assigned[a] >= opts.games);
    do games.step();
    while (!(games.idle() && allSeated()));
    return results;
  } finally {
    for (const e of envs) e.close();
  }
}

/** The metric key of the win rate (`winRate`) or mean return (`returnMean`) against `opponent` as `seat`: `winRate/<opponent>/<seat>`. */
export function matchKey(what: 'winRate' | 'returnMean', opponent: string, seat: AgentId): string {
  return `${what}/${opponent}/${seat}`;
}

/** The metrics of evaluation against built-in players (or itself): a win rate and a mean return per opponent and seat, their keys after `prefix` (`b/` for policy b of several trained). */
export function matchMetrics(opponents: readonly string[], agents: readonly AgentId[], prefix = ''): MetricSpec[] {
  return opponents.flatMap((o) => agents.flatMap((a) => (['winRate', 'returnMean'] as const).map((w) => ({ key: prefix + matchKey(w, o, a), group: 'eval', reduce: 'last' as const }))));
}

/** `as player_0: win 61.0%  draw 2.0%  loss 37.0%  return mean 0.240  (n games)`, one seat's line. */
export function describeSeat(seat: AgentId, r: SeatResult): string {
  const pct = (k: number) => `${((100 * k) / Math.max(1, r.games)).toFixed(1)}%`;
  return `as ${seat}: win ${pct(r.wins)}  draw ${pct(r.draws)}  loss ${pct(r.losses)}  return mean ${r.returnMean.toFixed(3)}  (${r.games} games)`;
}
