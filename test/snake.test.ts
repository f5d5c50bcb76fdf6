import { strict as assert } from 'node:assert';
import type { Observation } from '../core/algorithm';
import { Rng, envSpec, makeEnv, type StepResult } from '../envs';
import { Snake, type SnakeBoard } from '../envs/snake';
import { checkEnv } from '../src/check-env';
import { EnvError } from '../core/errors';

type Cell = [number, number];

/** The lit cells of one channel (0 body, 1 head, 2 food) of a size x size x 3 observation, as [row, column]. */
function lit(obs: Observation, size: number, channel: number): Cell[] {
  const cells: Cell[] = [];
  for (let i = channel; i < obs.length; i += 3) if (obs[i] === 1) cells.push([Math.floor(i / 3 / size), (i / 3 | 0) % size]);
  return cells;
}

/** The snake's cells, head first, from the env's state. */
function snakeOf(env: Snake): Cell[] {
  return (env.getState() as { snake: Cell[] }).snake;
}

function foodOf(env: Snake): Cell | null {
  return (env.getState() as { food: Cell | null }).food;
}

/** Three cells in the middle row of the 8 x 8 board heading right (the start), food far away in the corner. */
const START: SnakeBoard = { snake: [[4, 4], [4, 3], [4, 2]], heading: 'right', food: [0, 0] };

/** The 4 x 4 board walked row by row as a snake path: right along row 0, left along row 1, right along row 2, left along row 3. */
const PATH: Cell[] = [[0, 0], [0, 1], [0, 2], [0, 3], [1, 3], [1, 2], [1, 1], [1, 0], [2, 0], [2, 1], [2, 2], [2, 3], [3, 3], [3, 2], [3, 1], [3, 0]];

function started(state: SnakeBoard, config: Record<string, unknown> = {}): Snake {
  const env = new Snake(config);
  env.reset({ seed: 0, options: { state } });
  return env;
}

describe('Snake-v0', () => {
  it('has a size x size x 3 image observation and three relative actions, and checks its config', () => {
    const env = new Snake();
    assert.deepEqual(env.observationSpace.shape, [8, 8, 3]);
    assert.equal(env.observationSpace.low.every((v) => v === 0) && env.observationSpace.high.every((v) => v === 1), true);
    assert.equal(env.actionSpace.toString(), 'Discrete(3)');
    assert.deepEqual(new Snake({ size: 5 }).observationSpace.shape, [5, 5, 3]);
    assert.equal(new Snake({ size: 5 }).starvationSteps, 50);
    assert.throws(() => new Snake({ size: 3 }), (err: Error) => err instanceof EnvError && err.message === 'Snake-v0: config.size must be an integer from 4 to 16, got 3');
    assert.throws(() => new Snake({ size: 8.5 }), /Snake-v0: config\.size must be an integer from 4 to 16, got 8\.5/);
    assert.throws(() => new Snake({ sise: 8 }), /Snake-v0: unknown config key "sise"; did you mean "size"\?/);
    const spec = envSpec('Snake-v0');
    assert.equal(spec.maxEpisodeSteps, 1000);
    assert.equal(spec.rewardThreshold, 5);
    assert.deepEqual(makeEnv('Snake-v0', { size: 6 }).observationSpace.shape, [6, 6, 3]);
  });

  it('starts three cells long in the middle heading right, with food on a free cell', () => {
    const env = new Snake();
    const { obs } = env.reset({ seed: 3 });
    assert.deepEqual(lit(obs, 8, 1), [[4, 4]]);
    assert.deepEqual(lit(obs, 8, 0), [[4, 2], [4, 3]]);
    const food = lit(obs, 8, 2);
    assert.equal(food.length, 1);
    assert.ok(![[4, 2], [4, 3], [4, 4]].some(([r, c]) => r === food[0][0] && c === food[0][1]), `food at ${food[0]} is on the snake`);
    assert.equal(Array.from(obs).reduce((a, b) => a + b, 0), 4);
  });

  it('encodes a known board: body in channel 0, head in channel 1, food in channel 2, row-major', () => {
    const env = new Snake({ size: 4 });
    const { obs } = env.reset({ options: { state: { snake: [[1, 2], [1, 1], [2, 1]], heading: 'right', food: [3, 0] } } });
    const expected = new Float32Array(4 * 4 * 3);
    expected[(1 * 4 + 1) * 3 + 0] = 1; // body (1, 1): index 15
    expected[(2 * 4 + 1) * 3 + 0] = 1; // body (2, 1): index 27
    expected[(1 * 4 + 2) * 3 + 1] = 1; // head (1, 2): index 19
    expected[(3 * 4 + 0) * 3 + 2] = 1; // food (3, 0): index 38
    assert.deepEqual(obs, expected);
    assert.deepEqual([...obs.keys()].filter((i) => obs[i] === 1), [15, 19, 27, 38]);
  });

  it('moves the head straight, left or right of its heading, and the body follows', () => {
    const cases: [number, Cell, string][] = [
      [0, [4, 5], 'right'],
      [1, [3, 4], 'up'],
      [2, [5, 4], 'down'],
    ];
    for (const [action, head, heading] of cases) {
      const env = started(START);
      const r = env.step(action);
      assert.deepEqual([r.reward, r.terminated, r.truncated], [0, false, false], `action ${action}`);
      assert.deepEqual(snakeOf(env), [head, [4, 4], [4, 3]], `action ${action}`);
      assert.equal((env.getState() as { heading: string }).heading, heading);
      assert.deepEqual(lit(r.obs, 8, 1), [head]);
    }
    // Three left turns from heading right: up to (3, 4), left to (3, 3), down to (4, 3), where the tail was two steps before.
    const env = started(START);
    for (const a of [1, 1, 1]) assert.equal(env.step(a).terminated, false);
    assert.deepEqual(snakeOf(env), [[4, 3], [3, 3], [3, 4]]);
  });

  it('eats: +1, grows by one, and puts new food on a free cell', () => {
    const env = started({ snake: [[4, 4], [4, 3], [4, 2]], heading: 'right', food: [4, 5] });
    const r = env.step(0);
    assert.deepEqual([r.reward, r.terminated, r.truncated], [1, false, false]);
    const snake = snakeOf(env);
    assert.deepEqual(snake, [[4, 5], [4, 4], [4, 3], [4, 2]]);
    const food = lit(r.obs, 8, 2);
    assert.equal(food.length, 1);
    assert.deepEqual(food[0], foodOf(env));
    assert.ok(!snake.some(([row, c]) => row === food[0][0] && c === food[0][1]), `new food ${food[0]} is on the snake`);
    // Without food the tail moves again: the length stays 4.
    env.step(0);
    assert.equal(snakeOf(env).length, 4);
  });

  it('puts new food on the only free cell, and ends with +1 when the snake fills the board', () => {
    // 14 cells of PATH, head at (3, 2) heading left; food at (3, 1); (3, 0) is the one cell left after eating.
    const env = started({ snake: PATH.slice(0, 14).reverse(), heading: 'left', food: [3, 1] }, { size: 4 });
    const first = env.step(0);
    assert.deepEqual([first.reward, first.terminated], [1, false]);
    assert.deepEqual(foodOf(env), [3, 0]);
    const last = env.step(0);
    assert.deepEqual([last.reward, last.terminated, last.truncated], [1, true, false]);
    assert.equal(foodOf(env), null);
    assert.equal(lit(last.obs, 4, 0).length + lit(last.obs, 4, 1).length, 16);
    assert.deepEqual(lit(last.obs, 4, 2), []);
    assert.throws(() => env.step(0), /Snake-v0: step\(\) called before reset\(\) or after the episode terminated; call reset\(\) first/);
  });

  it('terminates with -1 on leaving the board', () => {
    const env = started(START);
    const rewards: number[] = [];
    let r: StepResult | undefined;
    for (let t = 0; t < 4; t++) {
      r = env.step(0); // (4, 5), (4, 6), (4, 7), then off the right edge
      rewards.push(r.reward);
      assert.equal(r.terminated, t === 3, `step ${t + 1}`);
    }
    assert.deepEqual(rewards, [0, 0, 0, -1]);
    assert.equal(r!.truncated, false);
    assert.deepEqual(lit(r!.obs, 8, 1), [[4, 7]]); // the board as it was before the fatal move
  });

  it('terminates with -1 on running into its body, but may follow its tail', () => {
    // Five cells around a 2 x 2 block, head (1, 1) heading left: a left turn goes down into (2, 1), a body cell.
    const body = started({ snake: [[1, 1], [1, 2], [2, 2], [2, 1], [2, 0]], heading: 'left', food: [0, 0] });
    const r = body.step(1);
    assert.deepEqual([r.reward, r.terminated, r.truncated], [-1, true, false]);
    // Four cells filling the block: (2, 1) is the tail, which moves away on the same step.
    const tail = started({ snake: [[1, 1], [1, 2], [2, 2], [2, 1]], heading: 'left', food: [0, 0] });
    const t = tail.step(1);
    assert.deepEqual([t.reward, t.terminated], [0, false]);
    assert.deepEqual(snakeOf(tail), [[2, 1], [1, 1], [1, 2], [2, 2]]);
  });

  it('truncates (not terminates) after size * size * 2 steps without food', () => {
    // Turning right forever circles a 2 x 2 block of the 4 x 4 board; the food in the corner is never reached.
    const env = started({ snake: [[2, 2], [2, 1], [2, 0]], heading: 'right', food: [0, 0] }, { size: 4 });
    for (let t = 1; t < 32; t++) {
      const r = env.step(2);
      assert.deepEqual([r.reward, r.terminated, r.truncated], [0, false, false], `step ${t}`);
    }
    const r = env.step(2);
    assert.deepEqual([r.reward, r.terminated, r.truncated], [0, false, true]);
    assert.deepEqual(snakeOf(env), [[2, 2], [2, 1], [3, 1]]); // 32 steps = 8 laps; the head is back at (2, 2)
  });

  it('resets the starvation count when it eats', () => {
    const env = started({ snake: [[2, 1], [2, 0]], heading: 'right', food: [2, 3] }, { size: 4 });
    env.step(0);
    assert.equal((env.getState() as { stepsSinceFood: number }).stepsSinceFood, 1);
    assert.equal(env.step(0).reward, 1);
    assert.equal((env.getState() as { stepsSinceFood: number }).stepsSinceFood, 0);
  });

  it('plays the same game for the same seed, and a different one for other seeds', () => {
    const play = (seed: number) => {
      const env = makeEnv('Snake-v0');
      const rng = new Rng(99);
      const trace: number[] = [...env.reset({ seed }).obs];
      for (let t = 0; t < 300; t++) {
        const r = env.step(rng.int(3));
        trace.push(...r.obs, r.reward, +r.terminated, +r.truncated);
        if (r.terminated || r.truncated) trace.push(...env.reset().obs);
      }
      return trace;
    };
    assert.deepEqual(play(5), play(5));
    const firstFood = (seed: number) => lit(new Snake().reset({ seed }).obs, 8, 2)[0].join(',');
    assert.ok(new Set([1, 2, 3, 4, 5, 6].map(firstFood)).size > 1, 'six seeds all put the first food in the same cell');
  });

  it('resumes exactly from getState, through JSON, including where the next food goes', () => {
    const env = makeEnv('Snake-v0');
    env.reset({ seed: 11 });
    const rng = new Rng(4);
    for (let t = 0; t < 40; t++) {
      const r = env.step(rng.int(3));
      if (r.terminated || r.truncated) env.reset();
    }
    const saved = JSON.parse(JSON.stringify(env.getState!()));
    const copy = makeEnv('Snake-v0');
    copy.reset({ seed: 0 });
    copy.setState!(saved);
    const actions = Array.from({ length: 400 }, () => rng.int(3));
    let foods = 0;
    for (const [t, a] of actions.entries()) {
      const x = env.step(a);
      const y = copy.step(a);
      assert.deepEqual(y, x, `step ${t}`);
      if (x.reward === 1) foods += 1;
      if (x.terminated || x.truncated) assert.deepEqual(copy.reset(), env.reset());
    }
    assert.deepEqual(copy.getState!(), env.getState!());
    assert.ok(foods > 0, 'no food eaten: the check did not cover food placement');
  });

  it('rejects bad actions and bad reset states with the env in the message', () => {
    const env = new Snake();
    assert.throws(() => env.step(0), /Snake-v0: step\(\) called before reset\(\)/);
    env.reset({ seed: 1 });
    assert.throws(() => env.step(3), (err: Error) => err instanceof RangeError && err.message === 'Snake-v0: action 3 is not in Discrete(3) (0 straight, 1 turn left, 2 turn right)');
    assert.throws(() => env.step(-1), /Snake-v0: action -1 is not in Discrete\(3\)/);
    assert.throws(() => env.step(Float32Array.of(1)), /Snake-v0: action 1 is not in Discrete\(3\)/);
    const bad = (state: unknown) => () => env.reset({ options: { state } });
    assert.throws(bad({ ...START, snake: [[4, 4], [4, 2]] }), /Snake-v0: reset options\.state must be .*: snake cell 1 is not next to cell 0/);
    assert.throws(bad({ ...START, heading: 'left' }), /heading must point away from the second snake cell/);
    assert.throws(bad({ ...START, heading: 'north' }), /heading must be up, right, down or left/);
    assert.throws(bad({ ...START, food: [4, 3] }), /food must be on a free cell/);
    assert.throws(bad({ ...START, snake: [[4, 8], [4, 7]] }), /snake cells must be \[row, column\] on the 8 x 8 board/);
    assert.throws(bad({ ...START, snake: [[4, 4], [4, 3], [4, 4]] }), /snake cells must be distinct/);
    assert.throws(bad([1, 2, 3]), /Snake-v0: reset options\.state must be/);
  });

  it('passes check-env, at the default size and at 4 x 4', () => {
    assert.deepEqual(checkEnv('Snake-v0', { steps: 2000, seed: 1 }).problems, []);
    const small = checkEnv('Snake-v0', { steps: 2000, seed: 2, config: { size: 4 } });
    assert.deepEqual(small.problems, []);
    assert.ok(small.passed.some((p) => p.startsWith('reset after a finished episode works')), small.passed.join('; '));
  });
});
