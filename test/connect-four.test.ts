import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConnectFour, ConnectFourParallel, makeEnv, makeMultiAgentEnv, minimaxColumn, randomColumn, Rng, type MultiAgentStepResult } from '../envs';
import { WINDOWS, drop, playMove, winsAt } from '../envs/connect-four-board';
import { heuristic } from '../envs/connect-four-opponents';
import type { Observation } from '../core/algorithm';
import { EnvError } from '../core/errors';
import { checkEnv } from '../src/check-env';
import { checkMultiAgentEnv } from '../src/check-multi-agent';
import { builtinAction, isBuiltinPlayer } from '../src/runtime/multi-agent/games';

/**
 * Plays `columns` in turn from the empty board (player_0 first), checking before each move that
 * only the player to move acts and that every step but the last pays 0 and ends nothing.
 * Returns the env and the last step.
 */
function replay(columns: number[]): { env: ConnectFourParallel; last: MultiAgentStepResult } {
  const env = new ConnectFourParallel();
  env.reset({ seed: 0 });
  let last: MultiAgentStepResult | undefined;
  columns.forEach((column, i) => {
    const mover = i % 2 === 0 ? 'player_0' : 'player_1';
    assert.deepEqual(env.acting(), [mover], `move ${i + 1}`);
    last = env.step({ [mover]: column });
    if (i < columns.length - 1) {
      assert.deepEqual(last.rewards, { player_0: 0, player_1: 0 }, `move ${i + 1} (column ${column})`);
      assert.deepEqual(last.terminations, { player_0: false, player_1: false }, `move ${i + 1} (column ${column})`);
    }
  });
  return { env, last: last! };
}

/** The board of player_0's planes as six strings, row 0 (the top) first: X player_0's, O player_1's, . empty. */
function picture(obs: Observation): string[] {
  return [0, 1, 2, 3, 4, 5].map((r) => [0, 1, 2, 3, 4, 5, 6].map((c) => (obs[(r * 7 + c) * 2] === 1 ? 'X' : obs[(r * 7 + c) * 2 + 1] === 1 ? 'O' : '.')).join(''));
}

/** A single-agent env set to `rows` (row 0 at the top; X the agent's, O the opponent's), the agent to move. */
function position(rows: string[], config: Record<string, unknown> = {}, seed = 0): ConnectFour {
  const env = new ConnectFour(config);
  env.reset({ seed });
  const board = rows.join('').split('').map((ch) => ({ X: 1, O: 2 })[ch] ?? 0);
  env.setState({ board, over: false, rng: new Rng(seed).getState() });
  return env;
}

const EMPTY_ROWS = ['.......', '.......', '.......', '.......', '.......', '.......'];

describe('ConnectFour-v0, two players (PettingZoo connect_four_v3)', () => {
  it('knows 69 lines of four: 24 horizontal, 21 vertical and 12 on each diagonal', () => {
    assert.equal(WINDOWS.length, 6 * 4 + 3 * 7 + 2 * 3 * 4);
  });

  it('a horizontal four on the bottom row wins for player_0 on move 7: +1 to it, -1 to player_1, both terminated', () => {
    const { env, last } = replay([0, 0, 1, 1, 2, 2, 3]);
    assert.deepEqual(picture(last.obs.player_0), ['.......', '.......', '.......', '.......', 'OOO....', 'XXXX...']);
    assert.deepEqual(last.rewards, { player_0: 1, player_1: -1 });
    assert.deepEqual(last.terminations, { player_0: true, player_1: true });
    assert.deepEqual(last.truncations, { player_0: false, player_1: false });
    assert.deepEqual([env.agents(), env.acting()], [[], []]);
  });

  it('a vertical four in column 1 wins for player_1 on move 8: -1 to player_0, +1 to player_1', () => {
    const { last } = replay([0, 1, 0, 1, 0, 1, 2, 1]);
    assert.deepEqual(picture(last.obs.player_0), ['.......', '.......', '.O.....', 'XO.....', 'XO.....', 'XOX....']);
    assert.deepEqual([last.rewards, last.terminations], [{ player_0: -1, player_1: 1 }, { player_0: true, player_1: true }]);
  });

  it('a rising diagonal (bottom-left to top-right) wins for player_0 on move 11, though player_1 holds three on the next one', () => {
    const { last } = replay([0, 1, 1, 2, 3, 2, 2, 3, 6, 3, 3]);
    assert.deepEqual(picture(last.obs.player_0), ['.......', '.......', '...X...', '..XO...', '.XOO...', 'XOOX..X']);
    assert.deepEqual(last.rewards, { player_0: 1, player_1: -1 });
  });

  it('a falling diagonal (top-left to bottom-right) wins for player_1 on move 12: the rising one mirrored, roles swapped', () => {
    const { last } = replay([0, 6, 5, 5, 4, 3, 4, 4, 3, 0, 3, 3]);
    assert.deepEqual(picture(last.obs.player_1), ['.......', '.......', '...X...', '...OX..', 'X..OOX.', 'O..XOOX']);
    assert.deepEqual(last.rewards, { player_0: -1, player_1: 1 });
  });

  it('a full board with no four is a draw on move 42: 0 to each, both terminated', () => {
    // Columns 0 and 1 bottom-up X O X O X O; column 4's bottom X; columns 2 and 3 O X O X O X; the rest of 4,
    // then 5 (all but its top), 6, and 5's top. No line of the final board holds more than two of a kind.
    const moves = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 4, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 5];
    const { env, last } = replay(moves);
    assert.deepEqual(picture(last.obs.player_0), ['OOXXOOX', 'XXOOXXO', 'OOXXOOX', 'XXOOXXO', 'OOXXOOX', 'XXOOXXO']);
    assert.deepEqual([last.rewards, last.terminations], [{ player_0: 0, player_1: 0 }, { player_0: true, player_1: true }]);
    assert.deepEqual(env.agents(), []);
  });

  it('refuses a move into a full column with one line naming the player and the column, and changes nothing', () => {
    const { env } = replay([0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(env.actionMask('player_0')), [0, 1, 1, 1, 1, 1, 1]);
    assert.throws(() => env.step({ player_0: 0 }), (err: unknown) => {
      assert.ok(err instanceof EnvError);
      assert.equal(err.message, 'ConnectFour-v0: player_0 cannot play column 0: it is full; the legal columns are 1, 2, 3, 4, 5, 6');
      return true;
    });
    assert.throws(() => env.step({ player_1: 3 }), /ConnectFour-v0: step\(\) got an action for player_1, but only player_0 is to move/);
    assert.deepEqual(env.acting(), ['player_0']);
    assert.deepEqual(env.step({ player_0: 1 }).rewards, { player_0: 0, player_1: 0 });
  });

  it('shows each player the board from its own side: plane 0 its pieces, plane 1 the other\'s', () => {
    const { last } = replay([3, 3]);
    // player_0's piece at row 5, column 3 (cell 38: indices 76 and 77); player_1's above it (cell 31: 62 and 63).
    const ones = (obs: Observation) => [...obs.keys()].filter((i) => obs[i] === 1);
    assert.deepEqual(ones(last.obs.player_0), [63, 76]);
    assert.deepEqual(ones(last.obs.player_1), [62, 77]);
    assert.equal(last.obs.player_0.length, 6 * 7 * 2);
  });

  it("masks: the player to move's columns with room, all 0 for the other and for both after the end", () => {
    const env = makeMultiAgentEnv('ConnectFour-v0') as ConnectFourParallel;
    env.reset({ seed: 1 });
    assert.deepEqual([Array.from(env.actionMask('player_0')), Array.from(env.actionMask('player_1'))], [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]]);
    const { env: over } = replay([0, 0, 1, 1, 2, 2, 3]);
    assert.deepEqual([Array.from(over.actionMask('player_0')), Array.from(over.actionMask('player_1'))], [[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]);
  });

  it('a built-in player with noise (NAME~P) plays a random legal column with probability P, its own otherwise', () => {
    // player_0 to move with three on the bottom row: column 3 wins, the column minimax:1 always takes.
    const { env } = replay([0, 6, 1, 6, 2, 5]);
    const wins = (name: string) => {
      const rng = new Rng(7);
      return Array.from({ length: 700 }, () => builtinAction(env, name, 'player_0', rng)).filter((c) => c === 3).length;
    };
    assert.equal(wins('minimax:1~0'), 700);
    // P = 1: column 3 one time in 7 (100 of 700); P = 0.5: 1/2 + 1/14 of the time (400 of 700).
    const [always, half] = [wins('minimax:1~1'), wins('minimax:1~0.5')];
    assert.ok(always > 60 && always < 140, `minimax:1~1 played column 3 ${always} times of 700`);
    assert.ok(half > 340 && half < 460, `minimax:1~0.5 played column 3 ${half} times of 700`);
    assert.deepEqual(['minimax:2~0.3', 'random~1', 'minimax:6~0', 'minimax:9~0.3', 'minimax:2~1.5', 'minimax:2~', 'minimax:2~0.3~0.1'].map((n) => isBuiltinPlayer(env, n)), [true, true, true, false, false, false, false]);
  });

  it('the opportunist takes a win when it has one, and otherwise draws every legal column', () => {
    const { env } = replay([0, 6, 1, 6, 2, 5]); // player_0 to move: column 3 wins
    const rng = new Rng(3);
    assert.deepEqual(new Set(Array.from({ length: 50 }, () => builtinAction(env, 'opportunist', 'player_0', rng))), new Set([3]));
    const { env: open } = replay([3, 3]); // nothing wins: any of the 7 columns
    assert.equal(new Set(Array.from({ length: 200 }, () => builtinAction(open, 'opportunist', 'player_0', rng))).size, 7);
  });

  it('rl check-env passes it, and names the field of a broken multi-agent env', () => {
    const r = checkEnv('ConnectFour-v0', { steps: 200, seed: 0 });
    assert.deepEqual(r.problems, []);
    assert.ok(r.passed.some((p) => p.startsWith('multi-agent: 20 random games')), r.passed.join('\n'));
    class NaNReward extends ConnectFourParallel {
      step(actions: Record<string, number | Float32Array>): MultiAgentStepResult {
        const s = super.step(actions);
        return { ...s, rewards: { ...s.rewards, player_1: NaN } };
      }
    }
    const broken = checkMultiAgentEnv('Broken-v0', new NaNReward(), { seed: 0, games: 3 });
    assert.deepEqual(broken.problems, ['env Broken-v0 (multi-agent): game 1 (seed 0), step 1: rewards.player_1 must be a finite number, got NaN']);
    class Lingers extends ConnectFourParallel {
      agents(): readonly string[] {
        return ['player_0', 'player_1'];
      }
    }
    // A module of the user's whose export builds a multi-agent env gets the same check.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-multi-agent-'));
    const file = path.join(dir, 'my-game.js');
    fs.writeFileSync(file, `const { ConnectFourParallel } = require(${JSON.stringify(path.resolve(__dirname, '..', 'envs'))});\nclass MyGame extends ConnectFourParallel {}\nmodule.exports = { MyGame };\n`);
    const mine = checkEnv(`${file}:MyGame`, { steps: 10, seed: 0 });
    assert.deepEqual(mine.problems, []);
    assert.equal(mine.passed.filter((p) => p.startsWith('multi-agent:')).length, 4);
    fs.rmSync(dir, { recursive: true });
    const lingering = checkMultiAgentEnv('Lingers-v0', new Lingers(), { seed: 0, games: 1 });
    assert.match(lingering.problems[0], /^env Lingers-v0 \(multi-agent\): game 1 \(seed 0\), step \d+: player_0 ended \(terminations\.player_0 or truncations\.player_0\) but is still in agents\(\)$/);
  });
});

describe('ConnectFour-v0 against a built-in opponent', () => {
  it('minimax takes a win when it has one, at any depth and seed', () => {
    // Piece 2 holds (5,0), (5,1), (5,2): column 3 wins.
    const board = Uint8Array.from(['.......', '.......', '.......', '.......', 'XX.....', 'OOO...X'].join('').split('').map((ch) => ({ X: 1, O: 2 })[ch] ?? 0));
    for (const depth of [1, 2, 4]) for (const seed of [0, 1, 2]) assert.equal(minimaxColumn(board, 2, depth, new Rng(seed)), 3, `depth ${depth}, seed ${seed}`);
  });

  it('depth-2 minimax blocks an immediate loss: the agent threatens column 3, the opponent answers there', () => {
    for (const seed of [0, 1, 2, 3]) {
      const env = position([...EMPTY_ROWS.slice(0, 4), 'OO.....', 'XX.....'], { opponent: 'minimax', depth: 2 }, seed);
      const r = env.step(2); // X X X . on the bottom row: column 3 would win next
      assert.deepEqual([r.reward, r.terminated], [0, false]);
      assert.equal(r.obs[(5 * 7 + 3) * 2 + 1], 1, `seed ${seed}: the opponent's piece in row 5, column 3`);
    }
  });

  it("pays +1 for the agent's four with info.outcome win, -1 for the opponent's with loss, and refuses a full column naming it", () => {
    const won = position([...EMPTY_ROWS.slice(0, 4), 'OOO....', 'XXX....']).step(3);
    assert.deepEqual([won.reward, won.terminated, won.info], [1, true, { outcome: 'win' }]);
    // The opponent holds column 6's bottom three; the agent plays column 1 (three in row 5, not four) and the opponent's fourth lands on top.
    const lost = position([...EMPTY_ROWS.slice(0, 3), '......O', 'X.....O', 'X.X...O'], { opponent: 'minimax', depth: 1 }).step(1);
    assert.deepEqual([lost.reward, lost.terminated, lost.info], [-1, true, { outcome: 'loss' }]);
    const full = position(['O......', 'X......', 'O......', 'X......', 'O......', 'X......']);
    assert.deepEqual(Array.from(full.actionMask()), [0, 1, 1, 1, 1, 1, 1]);
    assert.throws(() => full.step(0), (e: unknown) => e instanceof EnvError && e.message === 'ConnectFour-v0: column 0 is full; the legal columns are 1, 2, 3, 4, 5, 6');
  });

  it('the random opponent is seeded: the same seed plays the same game, and the agent sees its pieces in plane 0 when the opponent moves first', () => {
    const ones = (obs: Observation) => [...obs.keys()].filter((i) => obs[i] === 1);
    const play = (seed: number) => {
      const env = makeEnv('ConnectFour-v0', { first: 'opponent' });
      const first = env.reset({ seed }).obs as Float32Array;
      return { first: ones(first), second: ones(env.step(3).obs as Float32Array) };
    };
    assert.deepEqual(play(5), play(5));
    for (let seed = 0; seed < 10; seed++) {
      const { first, second } = play(seed);
      assert.equal(first.length, 1, `seed ${seed}: one piece, the opponent's, after reset`);
      const opponentColumn = (first[0] >> 1) - 5 * 7;
      assert.equal(first[0] % 2, 1, `seed ${seed}: in plane 1, on the bottom row (index ${first[0]})`);
      assert.ok(opponentColumn >= 0 && opponentColumn < 7, `seed ${seed}: on the bottom row`);
      const agentCell = opponentColumn === 3 ? 4 * 7 + 3 : 5 * 7 + 3;
      assert.deepEqual(second.filter((i) => i % 2 === 0), [agentCell * 2], `seed ${seed}: the agent's piece in column 3, plane 0`);
    }
    assert.ok(new Set(Array.from({ length: 10 }, (_, seed) => play(seed).first[0])).size > 1, 'other seeds, other first moves');
  });

  it('checks its config: unknown keys, opponents and depths are one-line errors naming them', () => {
    const refused = (config: Record<string, unknown>, message: string) => assert.throws(() => new ConnectFour(config), (e: unknown) => e instanceof EnvError && e.message === message);
    refused({ depht: 2 }, 'ConnectFour-v0: unknown config key "depht"; did you mean "depth"? Known keys: opponent, depth, first');
    refused({ opponent: 'alphazero' }, 'ConnectFour-v0: config.opponent must be one of random, minimax, got "alphazero"');
    refused({ depth: 0 }, 'ConnectFour-v0: config.depth must be a whole number from 1 to 6, got 0');
  });

  it("minimax's alpha-beta picks one of plain minimax's best columns (no pruning, written out here) on seeded random positions", () => {
    const plain = (board: Uint8Array, column: number, piece: number, depth: number): number => {
      const b = board.slice();
      const cell = drop(b, column, piece);
      if (winsAt(b, cell)) return 1_000_000 + depth;
      if (!b.subarray(0, 7).includes(0)) return 0;
      if (depth <= 1) return heuristic(b, piece);
      return -Math.max(...[0, 1, 2, 3, 4, 5, 6].filter((c) => b[c] === 0).map((c) => plain(b, c, 3 - piece, depth - 1)));
    };
    const rng = new Rng(1);
    let checked = 0;
    while (checked < 40) {
      const board = new Uint8Array(42);
      let piece = 1;
      let over = false;
      for (let i = rng.int(16); i > 0 && !over; i--, piece = 3 - piece) over = playMove(board, randomColumn(board, rng), piece) !== null;
      if (over) continue;
      for (const depth of [1, 2, 3]) {
        const values = [0, 1, 2, 3, 4, 5, 6].map((c) => (board[c] === 0 ? plain(board, c, piece, depth) : -Infinity));
        const pick = minimaxColumn(board, piece, depth, new Rng(checked));
        assert.equal(values[pick], Math.max(...values), `position ${checked}, depth ${depth}: values ${values}, picked ${pick}`);
      }
      checked++;
    }
  });

  it('depth-2 minimax beats the random player in at least 48 of 50 seeded games as the first player, and as the second', () => {
    const rng = new Rng(0);
    const won = (minimaxPiece: number): boolean => {
      const board = new Uint8Array(42);
      for (let piece = 1; ; piece = 3 - piece) {
        const column = piece === minimaxPiece ? minimaxColumn(board, piece, 2, rng) : randomColumn(board, rng);
        const end = playMove(board, column, piece);
        if (end !== null) return end === 'win' && piece === minimaxPiece;
      }
    };
    for (const piece of [1, 2]) assert.ok(Array.from({ length: 50 }, () => won(piece)).filter(Boolean).length >= 48, `minimax as piece ${piece}`);
  });

  it('randomColumn only draws columns with room', () => {
    const board = Uint8Array.from(['X.X.X.X', 'O.O.O.O', 'X.X.X.X', 'O.O.O.O', 'X.X.X.X', 'O.O.O.O'].join('').split('').map((ch) => ({ X: 1, O: 2 })[ch] ?? 0));
    const rng = new Rng(0);
    const drawn = new Set(Array.from({ length: 50 }, () => randomColumn(board, rng)));
    assert.deepEqual([...drawn].sort(), [1, 3, 5]);
  });
});
