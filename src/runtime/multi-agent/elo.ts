/** One pairing's record: games `a` played against `b` and `a`'s score in them (win 1, draw 1/2, loss 0). */
export interface PairRecord {
  a: string;
  b: string;
  games: number;
  score: number;
}

/**
 * Elo ratings of `players` from their games (`records`), as the maximum-likelihood fit of the
 * Bradley-Terry model Elo assumes (P(a beats b) = 1 / (1 + 10^((Rb - Ra) / 400)), a draw half a
 * win), by Hunter's MM iteration; each player also gets one virtual draw against a reference
 * of rating 0, so that a player who never lost (or never won) has a finite rating. Unlike
 * Elo's running updates, the fit does not depend on the order the games were played in: the
 * ratings of snapshots taken one after another, each stronger, come out in that order. The
 * ratings are shifted so that `players[0]` (the league's first snapshot) is at 0.
 */
export function eloRatings(players: readonly string[], records: readonly PairRecord[], iterations = 500): Record<string, number> {
  const index = new Map(players.map((p, i) => [p, i]));
  const n = players.length;
  const wins = new Float64Array(n).fill(0.5); // the virtual draw's half win
  const games: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const r of records) {
    const [i, j] = [index.get(r.a), index.get(r.b)];
    if (i === undefined || j === undefined || i === j) continue;
    wins[i] += r.score;
    wins[j] += r.games - r.score;
    games[i][j] += r.games;
    games[j][i] += r.games;
  }
  let gamma = new Float64Array(n).fill(1);
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(n);
    let change = 0;
    for (let i = 0; i < n; i++) {
      let denominator = 1 / (gamma[i] + 1); // the virtual game against the reference (gamma 1)
      for (let j = 0; j < n; j++) if (games[i][j] > 0) denominator += games[i][j] / (gamma[i] + gamma[j]);
      next[i] = wins[i] / denominator;
      change = Math.max(change, Math.abs(Math.log(next[i] / gamma[i])));
    }
    gamma = next;
    if (change < 1e-9) break;
  }
  const shift = n > 0 ? Math.log10(gamma[0]) : 0;
  return Object.fromEntries(players.map((p, i) => [p, 400 * (Math.log10(gamma[i]) - shift)]));
}
