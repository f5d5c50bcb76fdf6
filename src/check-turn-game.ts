import type { Env } from '../envs/env';
import { checkFrame, maskViolation } from '../envs/check';
import type { Player } from '../envs/turn-game';
import type { Rng } from '../core/rng';

/** Moves after which a game that has not ended counts as one that never ends. */
const MAX_MOVES = 10_000;

/**
 * `rl check-env`'s check of an env's optional `turnGame()`: a game with each side first, played
 * to its end with random legal moves. Before each move: `toMove()` names a player, `legalMoves()`
 * is a valid mask of the Discrete action space (one legal move at least), `observe()` is in the
 * observation space, and an illegal move, when there is one, throws and changes nothing. At the
 * end: a result of `win`, `draw` or `loss`, no one to move and no legal move. `render()` gives a
 * frame of width x height x 3 bytes, and `moveAt` names a move in range, or none, at each point of
 * a grid over it, and some move somewhere (a person must have a place to click). Throws the first
 * problem, naming the env and the game.
 */
export function checkTurnGame(envId: string, env: Env, rng: Rng): void {
  if (env.actionSpace.type !== 'Discrete') throw new Error(`env ${envId}: turnGame() needs a Discrete action space, got ${String(env.actionSpace)}`);
  const n = env.actionSpace.n;
  for (const first of ['agent', 'opponent'] as Player[]) {
    const bad = (why: string) => new Error(`env ${envId}: turnGame('${first}') ${why}`);
    const game = env.turnGame!(first);
    if (game.toMove() !== first) throw bad(`must have '${first}' to move first, toMove() gave ${JSON.stringify(game.toMove())}`);
    let moves = 0;
    while (game.result() === null) {
      const when = `after ${moves} moves`;
      if (moves >= MAX_MOVES) throw bad(`did not end within ${MAX_MOVES} random legal moves`);
      const player = game.toMove();
      if (player !== 'agent' && player !== 'opponent') throw bad(`${when}: toMove() must be 'agent' or 'opponent' while the game goes on, got ${JSON.stringify(player)}`);
      const legal = game.legalMoves();
      const why = maskViolation(legal, n);
      if (why) throw bad(`${when}: legalMoves() ${why}`);
      const obsWhy = env.observationSpace.violation(game.observe());
      if (obsWhy !== undefined) throw bad(`${when}: observe() is not in observationSpace ${env.observationSpace}: ${obsWhy}`);
      const illegal = legal.indexOf(0);
      if (illegal >= 0) {
        let threw = false;
        try {
          game.play(illegal);
        } catch {
          threw = true;
        }
        if (!threw || game.moves().length !== moves) throw bad(`${when}: play(${illegal}) of an illegal move must throw and change nothing`);
      }
      const options = [...legal.keys()].filter((a) => legal[a] === 1);
      const move = options[rng.int(options.length)];
      game.play(move);
      moves += 1;
      const last = game.moves().at(-1);
      if (game.moves().length !== moves || last?.player !== player || last.move !== move) throw bad(`${when}: moves() must end with { player: '${player}', move: ${move} } after play(${move}), got ${JSON.stringify(last)}`);
    }
    if (!['win', 'draw', 'loss'].includes(game.result()!)) throw bad(`result() must be 'win', 'draw' or 'loss' once the game is over, got ${JSON.stringify(game.result())}`);
    if (game.toMove() !== null || game.legalMoves().includes(1)) throw bad(`after its ${moves} moves, over (${game.result()}): toMove() must be null and legalMoves() all 0`);
    const f = checkFrame(envId, game.render(), `of turnGame('${first}') at its end`);
    let named = 0;
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        const [x, y] = [((i + 0.5) * f.width) / 16, ((j + 0.5) * f.height) / 16];
        const m = game.moveAt(x, y);
        if (m !== null && !(Number.isInteger(m) && m >= 0 && m < n)) throw bad(`moveAt(${x}, ${y}) must give a move from 0 to ${n - 1} or null, got ${JSON.stringify(m)}`);
        if (m !== null) named += 1;
      }
    }
    if (named === 0) throw bad(`moveAt names no move at any point of its ${f.width} x ${f.height} frame: a person has nowhere to click`);
  }
}
