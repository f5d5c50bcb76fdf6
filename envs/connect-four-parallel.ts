import { EnvError } from '../core/errors';
import { Box, Discrete } from '../core/spaces';
import type { Rng } from '../core/rng';
import { COLUMNS, EMPTY, ROWS, drawBoard, legalColumns, legalList, observePlanes, playMove } from './connect-four-board';
import { MAX_DEPTH, minimaxColumn, opportunistColumn, randomColumn } from './connect-four-opponents';
import type { Action, ResetOptions, RgbFrame } from './env';
import type { AgentId, MultiAgentEnv, MultiAgentResetResult, MultiAgentStepResult, PerAgent } from './multi-agent';

const ID = 'ConnectFour-v0';
const AGENTS = ['player_0', 'player_1'] as const;

/** The whole state, for checkpoints. */
interface ConnectFourParallelState {
  board: number[];
  toMove: number;
  over: boolean;
}

/**
 * Connect Four for two agents, `player_0` (moves first, pieces 1) and `player_1` (pieces 2):
 * PettingZoo's `connect_four_v3` in the Parallel contract. Only the player to move acts
 * (`acting()` names it); each step returns both players' observations, each from its own side
 * (Box(0, 1, [6, 7, 2]): plane 0 its pieces, plane 1 the other's, row 0 at the top), and both
 * rewards: +1 to the player that makes four in a line and -1 to the other in that same step, 0
 * each for a draw (a full board) and on every other step. Both terminate together. Masks: the
 * columns with room for the player to move, all 0 for the other. A full column is refused with
 * an EnvError naming the player and the column. The game has no randomness: `reset({ seed })`
 * gives the same empty board whatever the seed.
 */
export class ConnectFourParallel implements MultiAgentEnv {
  readonly possibleAgents: readonly AgentId[] = AGENTS;
  readonly observationSpaces: PerAgent<Box> = { player_0: new Box(0, 1, [ROWS, COLUMNS, 2]), player_1: new Box(0, 1, [ROWS, COLUMNS, 2]) };
  readonly actionSpaces: PerAgent<Discrete> = { player_0: new Discrete(COLUMNS), player_1: new Discrete(COLUMNS) };
  /** `random` (a legal column, uniformly), `opportunist` (a winning column if it has one, else random: `opportunistColumn`) and `minimax:D`, depth-D negamax with the line-counting heuristic (`minimaxColumn`), D from 1 to 6. */
  readonly baselines: readonly string[] = ['random', 'opportunist', ...Array.from({ length: MAX_DEPTH }, (_, d) => `minimax:${d + 1}`)];
  private board = new Uint8Array(ROWS * COLUMNS);
  private toMove = 0;
  private over = true;

  constructor(config: Record<string, unknown> = {}) {
    const key = Object.keys(config)[0];
    if (key !== undefined) throw new EnvError(`${ID} (multi-agent): unknown config key "${key}"; it takes none (the opponent is another agent)`);
  }

  agents(): readonly AgentId[] {
    return this.over ? [] : AGENTS;
  }

  acting(): readonly AgentId[] {
    return this.over ? [] : [AGENTS[this.toMove]];
  }

  reset(_opts: ResetOptions = {}): MultiAgentResetResult {
    this.board.fill(EMPTY);
    this.toMove = 0;
    this.over = false;
    return { obs: this.observeAll(), infos: { player_0: {}, player_1: {} } };
  }

  step(actions: PerAgent<Action>): MultiAgentStepResult {
    if (this.over) throw new RangeError(`${ID}: step() after the game ended; call reset()`);
    const mover = AGENTS[this.toMove];
    const others = Object.keys(actions).filter((a) => a !== mover);
    if (others.length > 0) throw new EnvError(`${ID}: step() got an action for ${others.join(', ')}, but only ${mover} is to move`, { field: 'actions' });
    const column = actions[mover];
    if (!this.actionSpaces[mover].contains(column)) throw new EnvError(`${ID}: ${mover}'s action must be a column from 0 to ${COLUMNS - 1}, got ${String(column)}`, { field: 'actions' });
    const c = column as number;
    if (this.board[c] !== EMPTY) throw new EnvError(`${ID}: ${mover} cannot play column ${c}: it is full; the legal columns are ${legalList(this.board)}`, { field: 'actions' });
    const end = playMove(this.board, c, this.toMove + 1);
    const rewards = { player_0: 0, player_1: 0 };
    if (end === 'win') [rewards[mover], rewards[AGENTS[1 - this.toMove]]] = [1, -1];
    const done = end !== null;
    const obs = this.observeAll();
    if (done) this.over = true;
    else this.toMove = 1 - this.toMove;
    return { obs, rewards, terminations: { player_0: done, player_1: done }, truncations: { player_0: false, player_1: false }, infos: { player_0: {}, player_1: {} } };
  }

  /** The columns with room for the player to move; all 0 for the other, and for both once the game is over. */
  actionMask(agent: AgentId): Uint8Array {
    return !this.over && agent === AGENTS[this.toMove] ? legalColumns(this.board) : new Uint8Array(COLUMNS);
  }

  /** The column the built-in player `name` (one of `baselines`) picks for `agent`, the player to move. */
  baselineAction(name: string, agent: AgentId, rng: Rng): Action {
    if (this.over || agent !== AGENTS[this.toMove]) throw new EnvError(`${ID}: baselineAction() for ${agent}, who is not to move`, { field: 'agent' });
    if (name === 'random') return randomColumn(this.board, rng);
    if (name === 'opportunist') return opportunistColumn(this.board, this.toMove + 1, rng);
    const depth = /^minimax:([1-9])$/.exec(name);
    if (!depth || Number(depth[1]) > MAX_DEPTH) throw new EnvError(`${ID}: no built-in player "${name}"; the built-in players are ${this.baselines.join(', ')}`, { field: 'name' });
    return minimaxColumn(this.board, this.toMove + 1, Number(depth[1]), rng);
  }

  /** The board, 64 pixels a cell (448 x 384): player_0's pieces blue, player_1's red. */
  render(): RgbFrame {
    return drawBoard(this.board);
  }

  close(): void {}

  getState(): unknown {
    const s: ConnectFourParallelState = { board: Array.from(this.board), toMove: this.toMove, over: this.over };
    return s;
  }

  setState(saved: unknown): void {
    const s = saved as ConnectFourParallelState;
    [this.board, this.toMove, this.over] = [Uint8Array.from(s.board), s.toMove, s.over];
  }

  private observeAll(): PerAgent<Float32Array> {
    // One array for both (views of it): an allocation a step fewer, on the sampler's hot path.
    const size = ROWS * COLUMNS * 2;
    const both = new Float32Array(2 * size);
    return { player_0: observePlanes(this.board, 1, both.subarray(0, size)), player_1: observePlanes(this.board, 2, both.subarray(size)) };
  }
}
