import { strict as assert } from 'node:assert';
import { Catch, makeEnv } from '../envs';
import { checkEnv } from '../src/check-env';
import type { Observation } from '../core/algorithm';

/** The lit cells of a 10 x 5 board, as [row, column]. */
function lit(obs: Observation): [number, number][] {
  const cells: [number, number][] = [];
  obs.forEach((v, i) => v === 1 && cells.push([Math.floor(i / 5), i % 5]));
  return cells;
}

describe('Catch', () => {
  it('starts the ball in the top row and the paddle in the middle of the bottom row', () => {
    const env = new Catch();
    const { obs } = env.reset({ seed: 3 });
    assert.equal(obs.length, 50);
    const cells = lit(obs);
    assert.equal(cells.length, 2);
    assert.equal(cells[0][0], 0); // the ball, top row
    assert.deepEqual(cells[1], [9, 2]); // the paddle
  });

  it('drops the ball a row per step, moves the paddle, and pays +1 for a catch on the ninth step', () => {
    const env = new Catch();
    env.reset({ options: { state: [4, 0, 2] } }); // ball at column 4, paddle at 2
    const actions = [2, 2, 2, 1, 1, 1, 1, 1, 1]; // right, right, right (stops at the wall), then stay
    const rewards: number[] = [];
    let last;
    for (const [t, a] of actions.entries()) {
      last = env.step(a);
      rewards.push(last.reward);
      assert.equal(last.terminated, t === 8, `step ${t + 1}`);
    }
    assert.deepEqual(rewards, [0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(lit(last!.obs), [[9, 4]]); // ball and paddle in one cell
  });

  it('pays -1 for a miss, and keeps the paddle on the board', () => {
    const env = new Catch();
    env.reset({ options: { state: [4, 0, 0] } });
    let r;
    for (let t = 0; t < 9; t++) r = env.step(0); // push left against the wall throughout
    assert.equal(r!.reward, -1);
    assert.deepEqual(lit(r!.obs), [[9, 0], [9, 4]]);
  });

  it('reproduces seeded starts, rejects bad actions and states, and passes check-env', () => {
    const a = new Catch().reset({ seed: 7 }).obs;
    const b = new Catch().reset({ seed: 7 }).obs;
    assert.deepEqual(a, b);
    const env = makeEnv('Catch');
    env.reset();
    assert.throws(() => env.step(3), /Catch: action 3 is not in Discrete\(3\)/);
    assert.throws(() => env.reset({ options: { state: [5, 0, 0] } }), /Catch: reset options\.state must be \[ballX, ballY, paddleX\]/);
    assert.deepEqual(checkEnv('Catch', { steps: 300, seed: 1 }).problems, []);
  });
});
