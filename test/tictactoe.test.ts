import { strict as assert } from 'node:assert';
import { ActionMasker, Box, Discrete, makeEnv, Rng, type Env } from '../envs';
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
