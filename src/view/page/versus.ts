import type { Env } from '../../../envs/env';
import { illegalMove, type GameMove, type GameResult, type Player, type TurnGame } from '../../../envs/turn-game';
import type { CustomEnv, RunInfo } from './app';
import { createEnv, draw, type PolicyModule } from './play';

/** What the page shows of a game against the policy. */
export interface VersusState {
  /** The moves so far, oldest first. */
  moves: readonly GameMove[];
  /** Whose move it is: 'opponent' is the person; null before the game starts and once it is over. */
  toMove: Player | null;
  /** How the game ended, from the policy's side; null while it goes on. */
  result: GameResult | null;
  /** Clicks refused so far in this game (an occupied cell, a click after the end, one while the policy loads). */
  rejected: number;
  /** One line: whose move it is, why a click was refused, or how the game ended. */
  status: string;
}

/** A game in progress: the page hands it the person's clicks, in the frame's pixels. */
export interface Versus {
  /** The person's move at (x, y) of the board's frame, the policy's answer after it; a click that names no legal move is refused, said and counted. */
  click(x: number, y: number): void;
  /** Whether a click at (x, y) would be a legal move now (for the pointer). */
  playable(x: number, y: number): boolean;
  /** Ends the game (a new one replaces it). */
  stop(): void;
}

/** "you won" and so on: the result from the person's side. */
const RESULT_TEXT: Record<GameResult, string> = { win: 'the policy won', loss: 'you won', draw: 'a draw' };

/** Whether an env offers games against a person (`Env.turnGame`); the run's env built as `createEnv` builds it, then closed. */
export function canPlayAgainst(info: RunInfo, custom: CustomEnv): boolean {
  try {
    const env = createEnv(info, custom);
    const can = typeof env.turnGame === 'function' && env.actionSpace.type === 'Discrete';
    env.close();
    return can;
  } catch {
    return false;
  }
}

/**
 * "Play against it": one game of the run's env (`Env.turnGame`) between a person, whose clicks
 * on the board are the opponent's moves, and the checkpoint's exported greedy policy in the
 * agent's seat, which answers at once with its best legal move (the game's `legalMoves()` as
 * its mask). Everything runs in the page, as "Watch it play" does: no move goes to the server.
 * A click is checked with `illegalMove` before it is played; one that names no legal move
 * changes nothing, and its reason is shown and counted.
 */
export function playAgainst(opts: { info: RunInfo; custom: CustomEnv; checkpoint: string; first: Player; canvas: HTMLCanvasElement; show: (s: VersusState) => void }): Versus {
  const envId = opts.info.envId ?? 'env';
  let game: TurnGame | undefined;
  let env: Env | undefined;
  let policy: PolicyModule | undefined;
  let rejected = 0;
  let stopped = false;
  const show = (status: string) => opts.show({ moves: game?.moves() ?? [], toMove: game?.toMove() ?? null, result: game?.result() ?? null, rejected, status });
  const refuse = (why: string) => {
    rejected += 1;
    show(`refused: ${why}`);
  };
  const yourMove = () => {
    draw(opts.canvas, game!.render());
    const result = game!.result();
    if (result !== null) return show(`game over: ${RESULT_TEXT[result]}`);
    const last = game!.moves().at(-1);
    show(`${last ? `it played ${last.move}; ` : ''}your move: click the board`);
  };
  // The policy's moves, as long as it is its turn: its greedy action under the legal moves' mask.
  const policyMoves = () => {
    while (game!.toMove() === 'agent') {
      const move = policy!.act(game!.observe(), game!.legalMoves());
      const why = illegalMove(envId, game!, move);
      if (why !== null) throw new Error(`the policy's move: ${why}`);
      game!.play(move as number);
    }
  };

  show(`loading ${opts.checkpoint}…`);
  const start = async () => {
    policy = (await import(`/api/policy/${opts.checkpoint}.js`)) as PolicyModule;
    policy.reset?.(); // a recurrent policy's module: each game starts from a zero state (act() carries it through the game)
    if (stopped) return;
    env = createEnv(opts.info, opts.custom);
    if (typeof env.turnGame !== 'function') throw new Error(`env ${envId} has no turnGame(): it is not a two-player game a person can play`);
    game = env.turnGame(opts.first);
    policyMoves();
    yourMove();
  };
  const fail = (err: unknown) => show(`error: ${(err as Error).message}`);
  start().catch(fail);

  return {
    click(x, y) {
      if (stopped) return;
      if (!game || !policy) return refuse('the policy is still loading');
      const move = game.moveAt(x, y);
      if (move === null) return refuse(`no move at (${Math.round(x)}, ${Math.round(y)}) of the board`);
      const why = game.toMove() === 'agent' ? 'it is the policy\'s move' : illegalMove(envId, game, move);
      if (why !== null) return refuse(why);
      try {
        game.play(move);
        policyMoves();
        yourMove();
      } catch (err) {
        fail(err);
      }
    },
    playable(x, y) {
      if (stopped || !game || game.toMove() !== 'opponent') return false;
      const move = game.moveAt(x, y);
      return move !== null && game.legalMoves()[move] === 1;
    },
    stop() {
      stopped = true;
      env?.close();
    },
  };
}
