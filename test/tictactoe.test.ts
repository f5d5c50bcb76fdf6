import { strict as assert } from 'node:assert';
import { ActionMasker, Box, Discrete, illegalMove, makeEnv, registerEnv, Rng, type Env, type Player, type TurnGame } from '../envs';
import { wrapEnv } from '../envs/wrappers';
import { LINES, TicTacToe, winner } from '../envs/tictactoe';
import { VectorEnv } from '../envs/vector-env';
import { EnvError } from '../core/errors';
import { checkEnv } from '../src/check-env';

/** A game set to `board` (9 cells: 0 empty, 1 the agent's, 2 the opponent's), the agent to move. */
function game(board: number[], config: Record<string, unknown> = {}, seed = 0): TicTacToe {
  const env = new TicTacToe(config);
  env.reset({ seed });
  env.setState({ board, over: false, rng: new Rng(seed).getState() });
  return env;
}

describe('TicTacToe-v0', () => {
  it('knows all eight lines, and only whole ones', () => {
    assert.equal(LINES.length, 8);
    for (const line of LINES) {
      const board = new Array(9).fill(0);
      line.forEach((i) => (board[i] = 2));
      assert.equal(winner(board), 2, `line ${line}`);
      board[line[1]] = 1;
      assert.equal(winner(board), 0, `line ${line} broken`);
    }
  });

  it('pays +1 and ends the game when the agent completes a line (a row, a column, a diagonal)', () => {
    for (const [board, move] of [[[1, 1, 0, 2, 2, 0, 0, 0, 0], 2], [[1, 2, 0, 1, 2, 0, 0, 0, 0], 6], [[1, 2, 2, 0, 1, 0, 0, 0, 0], 8]] as const) {
      const r = game([...board]).step(move);
      assert.deepEqual({ reward: r.reward, terminated: r.terminated, truncated: r.truncated, info: r.info }, { reward: 1, terminated: true, truncated: false, info: { outcome: 'win' } }, `${board} + ${move}`);
    }
  });

  it("pays -1 when the opponent completes a line on its answer, and 0 for a draw on a full board", () => {
    // The opponent holds 3 and 4; the agent plays 8 and the lookahead opponent takes 5 (a win beats a block of 0-1-2).
    const lost = game([1, 1, 0, 2, 2, 0, 0, 0, 0], { opponent: 'lookahead' }).step(8);
    assert.deepEqual([lost.reward, lost.terminated, lost.info], [-1, true, { outcome: 'loss' }]);
    // X O X / X O O / O X _ : the agent's last cell, 8, completes nothing.
    const draw = game([1, 2, 1, 1, 2, 2, 2, 1, 0]).step(8);
    assert.deepEqual([draw.reward, draw.terminated, draw.info], [0, true, { outcome: 'draw' }]);
  });

  it('makes an occupied cell lose the game (-1), with or without masks', () => {
    for (const mask of [true, false]) {
      const r = game([1, 2, 0, 0, 0, 0, 0, 0, 0], { mask }).step(1);
      assert.deepEqual([r.reward, r.terminated, r.info], [-1, true, { outcome: 'illegal' }], `mask ${mask}`);
    }
  });

  it('marks the empty cells in its action mask, and gives no mask at all with mask: false', () => {
    const env = game([1, 2, 0, 0, 1, 0, 2, 0, 0]);
    assert.deepEqual(Array.from(env.actionMask!()), [0, 0, 1, 1, 0, 1, 0, 1, 1]);
    assert.equal(typeof new TicTacToe({ mask: false }).actionMask, 'undefined');
    assert.equal(typeof makeEnv('TicTacToe-v0', { mask: false }).actionMask, 'undefined', 'nor through the registry');
    assert.equal(typeof makeEnv('TicTacToe-v0').actionMask, 'function');
  });

  it('shows the board from the agent side as three one-hot planes per cell: empty, its own, the opponent', () => {
    const env = new TicTacToe({ first: 'opponent' });
    const obs = env.reset({ seed: 4 }).obs;
    const opponentCell = [...Array(9).keys()].find((i) => obs[i * 3 + 2] === 1)!;
    assert.deepEqual(Array.from(obs.subarray(opponentCell * 3, opponentCell * 3 + 3)), [0, 0, 1]);
    const mine = (opponentCell + 1) % 9;
    const next = env.step(mine).obs;
    assert.deepEqual(Array.from(next.subarray(mine * 3, mine * 3 + 3)), [0, 1, 0]);
    for (let i = 0; i < 9; i++) assert.equal(next[i * 3] + next[i * 3 + 1] + next[i * 3 + 2], 1, `cell ${i} is one of the three`);
    assert.equal(Array.from({ length: 9 }, (_, i) => next[i * 3 + 2]).filter(Boolean).length, 2, 'the opponent answered');
  });

  it('has a lookahead opponent that blocks a line the agent would complete, and a random one that does not care', () => {
    // The agent holds 0 and 1 and plays 8: the lookahead opponent must take 2.
    for (let seed = 0; seed < 20; seed++) {
      const env = game([1, 1, 0, 0, 2, 0, 0, 0, 0], { opponent: 'lookahead' }, seed);
      env.step(8);
      assert.equal((env.getState() as { board: number[] }).board[2], 2, `seed ${seed}`);
    }
    const blocked = new Set<boolean>();
    for (let seed = 0; seed < 20; seed++) {
      const env = game([1, 1, 0, 0, 2, 0, 0, 0, 0], { opponent: 'random' }, seed);
      env.step(8);
      blocked.add((env.getState() as { board: number[] }).board[2] === 2);
    }
    assert.deepEqual([...blocked].sort(), [false, true], 'the random opponent blocks only by chance');
  });

  it('plays the same games for the same seed, and resumes exactly from its state', () => {
    const moves = (env: TicTacToe, seed: number) => {
      const out: number[] = [];
      let obs = env.reset({ seed }).obs;
      for (let k = 0; k < 4; k++) {
        const cell = [...Array(9).keys()].find((i) => obs[i * 3] === 1)!;
        const r = env.step(cell);
        out.push(...Array.from(r.obs));
        if (r.terminated) obs = env.reset().obs;
        else obs = r.obs;
      }
      return out;
    };
    const config = { opponent: 'random', first: 'random' };
    assert.deepEqual(moves(new TicTacToe(config), 7), moves(new TicTacToe(config), 7));
    const a = new TicTacToe(config);
    a.reset({ seed: 2 });
    a.step(4);
    const b = new TicTacToe(config);
    b.setState(structuredClone(a.getState()));
    assert.deepEqual(b.step(0), a.step(0));
  });

  it('refuses an unknown config key with a hint, and a value outside its choices, naming both', () => {
    assert.throws(() => new TicTacToe({ oponent: 'random' }), (e: unknown) => e instanceof EnvError && e.message === 'TicTacToe-v0: unknown config key "oponent"; did you mean "opponent"? Known keys: opponent, first, mask');
    assert.throws(() => new TicTacToe({ opponent: 'minimax' }), (e: unknown) => e instanceof EnvError && e.message === 'TicTacToe-v0: config.opponent must be one of random, lookahead, got "minimax"');
  });

  it('passes rl check-env, both opponents, with and without masks', () => {
    for (const config of [{}, { opponent: 'lookahead', first: 'random' }, { mask: false }]) {
      const check = checkEnv('TicTacToe-v0', { steps: 300, seed: 1, config });
      assert.deepEqual(check.problems, [], JSON.stringify(config));
    }
  });
});

/** The game's board from its observation: 0 empty, 1 the agent's, 2 the opponent's. */
const boardOf = (g: TurnGame): number[] => Array.from({ length: 9 }, (_, i) => [0, 1, 2].find((m) => g.observe()[i * 3 + m] === 1)!);

describe('TicTacToe-v0 against a person (turnGame)', () => {
  it("is played move by move from outside, the opponent first here; the opponent's top row is the agent's loss", () => {
    const g = makeEnv('TicTacToe-v0').turnGame!('opponent');
    assert.equal(g.toMove(), 'opponent');
    assert.deepEqual(Array.from(g.legalMoves()), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
    g.play(0);
    assert.equal(g.toMove(), 'agent');
    assert.deepEqual(Array.from(g.observe().subarray(0, 6)), [0, 0, 1, 1, 0, 0], 'cell 0 the opponent\'s, cell 1 empty');
    assert.deepEqual(Array.from(g.legalMoves()), [0, 1, 1, 1, 1, 1, 1, 1, 1]);
    for (const move of [4, 1, 8]) g.play(move);
    assert.deepEqual([g.toMove(), g.result()], ['opponent', null]);
    assert.deepEqual(boardOf(g), [2, 2, 0, 0, 1, 0, 0, 0, 1]);
    g.play(2);
    assert.deepEqual([g.toMove(), g.result()], [null, 'loss']);
    assert.deepEqual(Array.from(g.legalMoves()), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(g.moves(), [
      { player: 'opponent', move: 0 }, { player: 'agent', move: 4 }, { player: 'opponent', move: 1 }, { player: 'agent', move: 8 }, { player: 'opponent', move: 2 },
    ]);
  });

  it('ends in a win when the agent completes a line, and in a draw on a full board without one', () => {
    const won = new TicTacToe().turnGame('agent');
    for (const move of [0, 3, 1, 4, 2]) won.play(move);
    assert.deepEqual([won.result(), won.toMove(), boardOf(won)], ['win', null, [1, 1, 1, 2, 2, 0, 0, 0, 0]]);
    // X O X / X O O / O X X: each move blocks or builds nothing that completes.
    const drawn = new TicTacToe().turnGame('agent');
    for (const move of [0, 1, 2, 4, 7, 6, 3, 5]) {
      drawn.play(move);
      assert.equal(drawn.result(), null, `after ${move}`);
    }
    drawn.play(8);
    assert.deepEqual([drawn.result(), boardOf(drawn)], ['draw', [1, 2, 1, 1, 2, 2, 2, 1, 1]]);
  });

  it('refuses a move that is not an integer legal action with an EnvError naming it, and changes nothing', () => {
    const g = new TicTacToe().turnGame('agent');
    g.play(4);
    const refused: [unknown, string][] = [
      [4, 'TicTacToe-v0: move 4 is not legal now; the legal moves are 0, 1, 2, 3, 5, 6, 7, 8'],
      [9, 'TicTacToe-v0: a move must be an integer from 0 to 8, got 9'],
      [-1, 'TicTacToe-v0: a move must be an integer from 0 to 8, got -1'],
      [4.5, 'TicTacToe-v0: a move must be an integer from 0 to 8, got 4.5'],
      [NaN, 'TicTacToe-v0: a move must be an integer from 0 to 8, got NaN'],
      ['3', 'TicTacToe-v0: a move must be an integer from 0 to 8, got "3"'],
      [null, 'TicTacToe-v0: a move must be an integer from 0 to 8, got null'],
      [[3], 'TicTacToe-v0: a move must be an integer from 0 to 8, got an array'],
      [{ move: 3 }, 'TicTacToe-v0: a move must be an integer from 0 to 8, got an object'],
    ];
    for (const [move, message] of refused) {
      assert.equal(illegalMove('TicTacToe-v0', g, move), message);
      assert.throws(() => g.play(move as number), (e: unknown) => e instanceof EnvError && e.message === message && e.field === 'move', String(move));
    }
    assert.deepEqual([g.toMove(), g.moves().length, boardOf(g)], ['opponent', 1, [0, 0, 0, 0, 1, 0, 0, 0, 0]]);
    assert.equal(illegalMove('TicTacToe-v0', g, 3), null);
    for (const move of [3, 0, 5, 8]) g.play(move); // 0 4 8 is the agent's
    assert.throws(() => g.play(1), (e: unknown) => e instanceof EnvError && e.message === 'TicTacToe-v0: the game is over (win); start a new one');
  });

  it('maps a point of its 192 x 192 frame to the cell under it, and a point outside the frame to none', () => {
    const g = new TicTacToe().turnGame('opponent');
    const points: [number, number, number | null][] = [[0, 0, 0], [63.9, 0, 0], [64, 0, 1], [191, 0, 2], [100, 100, 4], [0, 130, 6], [191, 191, 8], [192, 10, null], [-0.5, 10, null], [10, 192, null], [NaN, 5, null]];
    for (const [x, y, cell] of points) assert.equal(g.moveAt(x, y), cell, `(${x}, ${y})`);
  });

  it("draws its board as the env draws the same board, and leaves the env's own game as it was", () => {
    const env = new TicTacToe({ first: 'random' });
    env.reset({ seed: 3 });
    env.step((env.actionMask!() as Uint8Array).indexOf(1));
    const before = structuredClone(env.getState());
    const g = env.turnGame('opponent');
    for (const move of [4, 0, 8]) g.play(move);
    assert.deepEqual(env.getState(), before);
    assert.deepEqual(g.render(), game([1, 0, 0, 0, 2, 0, 0, 0, 2]).render());
  });

  it('passes rl check-env, whose turn-game check names what a broken one gets wrong', () => {
    assert.ok(checkEnv('TicTacToe-v0', { steps: 10, seed: 0 }).passed.some((line) => line.startsWith('turnGame(): a game with each side first')));
    /** TicTacToe-v0 whose games have `flaw` (made from the real game) in place of their own methods. */
    const flawed = (flaw: (g: TurnGame) => Partial<TurnGame>) =>
      class extends TicTacToe {
        override turnGame(first: Player): TurnGame {
          const g = super.turnGame(first);
          const own: TurnGame = { toMove: () => g.toMove(), legalMoves: () => g.legalMoves(), observe: () => g.observe(), play: (m) => g.play(m), result: () => g.result(), moves: () => g.moves(), render: () => g.render(), moveAt: (x, y) => g.moveAt(x, y) };
          return { ...own, ...flaw(g) };
        }
      };
    const cases: [string, (g: TurnGame) => Partial<TurnGame>, string][] = [
      ['Lenient', (g) => ({ play: (m) => (g.legalMoves()[m] ? g.play(m) : undefined) }), "env TurnGameCheck-Lenient: turnGame('agent') after 1 moves: play(C) of an illegal move must throw and change nothing"],
      ['Short', (g) => ({ legalMoves: () => g.legalMoves().subarray(0, 8) }), "env TurnGameCheck-Short: turnGame('agent') after 0 moves: legalMoves() has 8 entries, Discrete(9) needs 9"],
      ['Endless', () => ({ result: () => null }), "env TurnGameCheck-Endless: turnGame('agent') after 5 moves: toMove() must be 'agent' or 'opponent' while the game goes on, got null"],
      ['Unclickable', () => ({ moveAt: () => null }), "env TurnGameCheck-Unclickable: turnGame('agent') moveAt names no move at any point of its 192 x 192 frame: a person has nowhere to click"],
    ];
    for (const [name, flaw, problem] of cases) {
      const Env = flawed(flaw);
      registerEnv(`TurnGameCheck-${name}`, () => new Env());
      const problems = checkEnv(`TurnGameCheck-${name}`, { steps: 10, seed: 0 }).problems;
      assert.equal(problems.length, 1, problems.join('\n'));
      // Which cell, and how many random moves a game lasts, is the seed's: C and 5 stand for them.
      assert.equal(problems[0].replace(/after \d+ moves: toMove/, 'after 5 moves: toMove').replace(/play\(\d\)/, 'play(C)'), problem);
    }
  });

  it('is hidden by a wrapper (it may change what the agent sees), and absent from an env that is no turn game', () => {
    assert.equal(typeof makeEnv('TicTacToe-v0').turnGame, 'function');
    assert.equal(wrapEnv(makeEnv('TicTacToe-v0'), [{ frameStack: 2 }]).turnGame, undefined);
    assert.equal(makeEnv('CartPole-v1').turnGame, undefined);
  });
});

/** A row of 4 cells to walk: the observation is the position one-hot; the env itself has no mask. */
class Walk implements Env {
  readonly observationSpace = new Box(0, 1, [4]);
  readonly actionSpace = new Discrete(3); // 0 left, 1 stay, 2 right
  position = 0;

  reset() {
    this.position = 0;
    return { obs: this.observe(), info: {} };
  }

  step(action: number | Float32Array) {
    this.position = Math.min(3, Math.max(0, this.position + (action as number) - 1));
    return { obs: this.observe(), reward: 0, terminated: this.position === 3, truncated: false, info: {} };
  }

  close(): void {}

  private observe() {
    const obs = new Float32Array(4);
    obs[this.position] = 1;
    return obs;
  }
}

describe('ActionMasker', () => {
  it("gives an env without masks the mask a function of its observation says, which the runtime then enforces", () => {
    const env = new ActionMasker(new Walk(), (obs) => [obs[0] === 1 ? 0 : 1, 1, 1]); // no step left from the first cell
    const vector = new VectorEnv('walk', [env]);
    assert.equal(vector.hasMasks, true);
    vector.reset([0]);
    assert.deepEqual(Array.from(vector.currentMasks()!), [0, 1, 1]);
    assert.throws(() => vector.step(Float32Array.of(0)), (e: unknown) => e instanceof EnvError && /action 0 is illegal in this state \(actionMask 011\)/.test(e.message));
    vector.step(Float32Array.of(2));
    assert.deepEqual(Array.from(vector.currentMasks()!), [1, 1, 1]);
  });

  it("takes the env's own state instead, booleans allowed, and keeps the env's spaces, frames and state", () => {
    const env = new ActionMasker(new Walk(), (_obs, walk) => [walk.position > 0, true, walk.position < 3]);
    env.reset();
    env.step(2);
    assert.deepEqual(Array.from(env.actionMask()), [1, 1, 1]);
    assert.equal(env.observationSpace.shape[0], 4);
    assert.throws(() => new ActionMasker(makeEnv('Pendulum-v1'), () => [1]), /ActionMasker: action masks need a Discrete action space/);
  });
});
