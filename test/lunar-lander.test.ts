import { strict as assert } from 'node:assert';
import type { Observation } from '../core/algorithm';
import { LunarLander, Rng, TimeLimit, enginesOf, envSpec, listEnvs, makeEnv, type Env } from '../envs';
import { shapingOf, terrain } from '../envs/lunar-lander';
import { checkEnv } from '../src/check-env';

const H = 400 / 30; // viewport height in metres
const MASS = (867 / 900) * 5 + 2 * ((4 * 16) / 900); // lander polygon 867 px² at density 5, legs 4 x 16 px at 1

/** Gymnasium's `heuristic` for discrete actions (box2d/lunar_lander.py), line for line. */
function heuristic(s: Observation): number {
  const angleTarg = Math.min(0.4, Math.max(-0.4, s[0] * 0.5 + s[2] * 1.0)); // point towards the centre
  const hoverTarg = 0.55 * Math.abs(s[0]); // hover lower when closer
  let angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
  let hoverTodo = (hoverTarg - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    angleTodo = 0;
    hoverTodo = -s[3] * 0.5; // legs down: only slow the fall
  }
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

/** Gymnasium's `heuristic` for continuous actions: the same targets, as throttles [hover_todo * 20 - 1, -angle_todo * 20] clipped to [-1, 1]. */
function continuousHeuristic(s: Observation): Float32Array {
  const angleTarg = Math.min(0.4, Math.max(-0.4, s[0] * 0.5 + s[2] * 1.0));
  const hoverTarg = 0.55 * Math.abs(s[0]);
  let angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
  let hoverTodo = (hoverTarg - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    angleTodo = 0;
    hoverTodo = -s[3] * 0.5;
  }
  return Float32Array.from([hoverTodo * 20 - 1, -angleTodo * 20], (a) => Math.min(1, Math.max(-1, a)));
}

/** The heuristic's control law aimed at (x, y) instead of the pad, with no landing logic. */
function flyTo(s: Observation, x: number, y: number): number {
  const angleTarg = Math.min(0.4, Math.max(-0.4, (s[0] - x) * 0.5 + s[2] * 1.0));
  const angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
  const hoverTodo = (y - s[1]) * 0.5 - s[3] * 0.5;
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

interface Episode {
  ret: number;
  steps: number;
  last: { obs: Observation; reward: number; terminated: boolean; truncated: boolean };
}

function runEpisode(env: Env, seed: number, policy: (obs: Observation) => number | Float32Array, maxSteps = 1000): Episode {
  let { obs } = env.reset({ seed });
  let ret = 0;
  for (let t = 1; t <= maxSteps; t++) {
    const r = env.step(policy(obs));
    ret += r.reward;
    obs = r.obs;
    if (r.terminated || r.truncated || t === maxSteps) return { ret, steps: t, last: r };
  }
  throw new Error('unreachable');
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('LunarLander-v3', () => {
  it('has Gymnasium v3’s spaces: Discrete(4) and an 8-dim box of ±2.5, ±10, ±2π and [0, 1] leg flags', () => {
    const env = new LunarLander();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Discrete', n: 4 });
    assert.deepEqual(env.observationSpace.shape, [8]);
    assert.deepEqual(Array.from(env.observationSpace.low), [-2.5, -2.5, -10, -10, -2 * Math.PI, -10, 0, 0].map(Math.fround));
    assert.deepEqual(Array.from(env.observationSpace.high), [2.5, 2.5, 10, 10, 2 * Math.PI, 10, 1, 1].map(Math.fround));
  });

  it('keeps observations inside its space when the lander flies far above the screen (clipped: Gymnasium leaves them)', () => {
    const env = new LunarLander();
    let obs = env.reset({ seed: 3 }).obs;
    let highest = 0;
    for (let t = 0; t < 300; t++) {
      // Main engine, the side engines only to keep it upright: straight up.
      const r = env.step(obs[4] > 0.05 ? 3 : obs[4] < -0.05 ? 1 : 2);
      obs = r.obs;
      assert.equal(env.observationSpace.contains(obs), true, `step ${t + 1}: ${env.observationSpace.violation(obs)}`);
      highest = Math.max(highest, obs[1]);
      if (r.terminated) break;
    }
    assert.equal(highest, 2.5, 'the lander should have reached the top bound and been clipped there');
  });

  it('registers LunarLander-v3 with a 1000-step limit and a reward threshold of 200', () => {
    const spec = envSpec('LunarLander-v3');
    assert.deepEqual([spec.maxEpisodeSteps, spec.rewardThreshold], [1000, 200]);
    assert.ok(listEnvs().some((e) => e.id === 'LunarLander-v3'));
    const env = makeEnv('LunarLander-v3');
    assert.ok(env instanceof TimeLimit && env.env instanceof LunarLander);
  });

  it('builds the terrain from twelve heights, smoothed by 0.33 with the first point wrapping to the twelfth, flat at the pad', () => {
    const draws = new Rng(5);
    const h = Array.from({ length: 12 }, () => draws.uniform(0, H / 2));
    for (let k = 3; k <= 7; k++) h[k] = H / 4;
    const { x, y } = terrain(new Rng(5));
    assert.deepEqual(x, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    assert.equal(y.length, 11);
    assert.ok(Math.abs(y[0] - 0.33 * (h[11] + h[0] + h[1])) < 1e-12, `y[0] ${y[0]}`);
    assert.ok(Math.abs(y[10] - 0.33 * (h[9] + h[10] + h[11])) < 1e-12, `y[10] ${y[10]}`);
    for (const k of [4, 5, 6]) assert.ok(Math.abs(y[k] - 0.99 * (H / 4)) < 1e-12, `pad point ${k}: ${y[k]}`);
  });

  it('starts from reset’s one noop step: at the top centre, legs up, pushed by at most 1000 N', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { obs } = new LunarLander().reset({ seed });
      // A force of at most 1000 N for 1/50 s on ~4.96 kg gives at most 4.03 m/s (0.81 once scaled by
      // 10/50 for x) and moves the lander at most 0.08 m (0.008 of the half-width, 0.012 of the
      // half-height); y starts at (H - (H/4 + 18/30)) / (H/2) = 1.41.
      assert.ok(Math.abs(obs[0]) <= 0.009 && Math.abs(obs[1] - 1.41) <= 0.013, `seed ${seed}: position [${obs[0]}, ${obs[1]}]`);
      assert.ok(Math.abs(obs[2]) <= 0.82, `seed ${seed}: vx ${obs[2]}`);
      assert.deepEqual([obs[6], obs[7]], [0, 0]);
    }
  });

  it('reproduces an episode from its seed, and continues the stream on a reset without one', () => {
    const play = (seed: number) => {
      const env = new LunarLander();
      const rng = new Rng(1);
      const trace: number[] = [...env.reset({ seed }).obs];
      for (let t = 0; t < 150; t++) {
        const r = env.step(rng.int(4));
        trace.push(...r.obs, r.reward);
        if (r.terminated) break;
      }
      trace.push(...env.reset().obs);
      return trace;
    };
    assert.deepEqual(play(42), play(42));
    assert.notDeepEqual(play(43).slice(0, 8), play(42).slice(0, 8));
    const env = new LunarLander();
    const first = Array.from(env.reset({ seed: 42 }).obs);
    assert.notDeepEqual(Array.from(env.reset().obs), first);
  });

  it('rewards the change in shaping, minus 0.3 for the main engine and 0.03 for a side engine', () => {
    assert.equal(shapingOf([0, 0, 0, 0, 0, 0, 1, 1]), 20);
    assert.ok(Math.abs(shapingOf([0.6, -0.8, 0.3, 0.4, -0.5, 9, 0, 1]) - (-100 - 50 - 50 + 10)) < 1e-9);
    for (const [action, fuel] of [[0, 0], [1, 0.03], [2, 0.3], [3, 0.03]]) {
      const env = new LunarLander();
      const s0 = env.reset({ seed: 3 }).obs;
      const r = env.step(action);
      const expected = shapingOf(r.obs) - shapingOf(s0) - fuel;
      assert.ok(Math.abs(r.reward - expected) < 1e-4, `action ${action}: reward ${r.reward} vs ${expected}`);
      assert.deepEqual([r.terminated, r.truncated], [false, false]);
    }
  });

  it('fires the engines the way Gymnasium does: main up, 1 counter-clockwise and left, 3 clockwise and right', () => {
    const after = (action: number) => {
      const env = new LunarLander();
      env.reset({ seed: 11 });
      return env.step(action).obs; // the same dispersion draws as the noop step
    };
    const noop = after(0);
    // The main impulse is 13 * (4 ± 2) / 30 N·s on the whole ~4.96 kg; vy is scaled by (H/2)/50.
    const dvy = after(2)[3] - noop[3];
    const scale = H / 2 / 50;
    assert.ok(dvy > ((13 * 2) / 30 / MASS) * scale * 0.95 && dvy < ((13 * 6) / 30 / MASS) * scale * 1.05, `main engine: Δvy ${dvy}`);
    const left = after(1);
    const right = after(3);
    assert.ok(left[5] > noop[5] && left[2] < noop[2], `action 1: ω ${left[5]} vs ${noop[5]}, vx ${left[2]} vs ${noop[2]}`);
    assert.ok(right[5] < noop[5] && right[2] > noop[2], `action 3: ω ${right[5]} vs ${noop[5]}, vx ${right[2]} vs ${noop[2]}`);
  });

  it('ends with -100 when the body hits the ground: doing nothing crashes on the pad area', () => {
    for (let seed = 0; seed < 5; seed++) {
      const { last, steps } = runEpisode(new LunarLander(), seed, () => 0);
      assert.deepEqual([last.reward, last.terminated], [-100, true], `seed ${seed}`);
      assert.ok(steps > 40 && steps < 120, `seed ${seed}: ${steps} steps`);
      assert.ok(Math.abs(last.obs[0]) < 1 && last.obs[1] < 0.3, `seed ${seed}: ended at [${last.obs[0]}, ${last.obs[1]}], not on the ground`);
    }
  });

  it('ends with -100 when the lander leaves the screen (|x| >= 1), in the air', () => {
    for (const [seed, x] of [[0, 3], [1, -3]]) {
      const { last } = runEpisode(new LunarLander(), seed, (s) => flyTo(s, x, 0.6));
      assert.deepEqual([last.reward, last.terminated], [-100, true], `seed ${seed}`);
      assert.ok(Math.abs(last.obs[0]) >= 1 && Math.sign(last.obs[0]) === Math.sign(x), `seed ${seed}: x ${last.obs[0]}`);
      assert.ok(last.obs[1] > 0.3, `seed ${seed}: y ${last.obs[1]}`);
    }
  });

  it('truncates a hovering lander from makeEnv at step 1000 exactly, never terminating it', () => {
    const env = makeEnv('LunarLander-v3');
    let { obs } = env.reset({ seed: 2 });
    for (let step = 1; step <= 1000; step++) {
      const r = env.step(flyTo(obs, 0, 0.5));
      obs = r.obs;
      assert.equal(r.terminated, false, `terminated at step ${step}`);
      assert.equal(r.truncated, step === 1000, `truncated at step ${step}`);
    }
  });

  it('lets Gymnasium’s heuristic land on the pad and come to rest for +100, averaging over 200', () => {
    const episodes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => runEpisode(new LunarLander(), seed, heuristic));
    const landed = episodes.filter((e) => e.last.terminated && e.last.reward === 100);
    assert.ok(landed.length >= 8, `landed ${landed.length} of 10: ${episodes.map((e) => e.ret.toFixed(0))}`);
    // At rest on the pad, between the flags at x = ±0.2. (Not asserted: the leg flags. As in
    // Gymnasium, a leg that touches two terrain edges and leaves one reads as off the ground.)
    for (const e of landed) assert.ok(Math.abs(e.last.obs[0]) < 0.2 && Math.abs(e.last.obs[1]) < 0.05, `landed at [${e.last.obs}]`);
    assert.ok(mean(episodes.map((e) => e.ret)) > 200, `mean return ${mean(episodes.map((e) => e.ret))}`);
  });

  it('scores a random policy far below the heuristic, crashing within ~60-150 steps', () => {
    const rng = new Rng(0);
    const episodes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => runEpisode(new LunarLander(), seed, () => rng.int(4)));
    const ret = mean(episodes.map((e) => e.ret));
    const steps = mean(episodes.map((e) => e.steps));
    assert.ok(ret > -400 && ret < -100, `random mean return ${ret}`);
    assert.ok(steps > 60 && steps < 150, `random mean length ${steps}`);
    assert.ok(episodes.every((e) => e.last.terminated && e.last.reward === -100));
  });

  it('rejects a bad action, a step before reset and a reset to a given state, naming LunarLander-v3', () => {
    const env = new LunarLander();
    assert.throws(() => env.step(0), { message: 'LunarLander-v3: call reset() before step()' });
    env.reset({ seed: 0 });
    assert.throws(() => env.step(4), { name: 'RangeError', message: 'LunarLander-v3: action 4 is not in Discrete(4)' });
    assert.throws(() => env.step(Float32Array.of(2)), { message: 'LunarLander-v3: action 2 is not in Discrete(4)' });
    assert.throws(() => env.reset({ options: { state: [0, 0] } }), {
      name: 'RangeError',
      message: 'LunarLander-v3: reset options.state is not supported (its state is a Box2D world, not a few numbers)',
    });
  });

  it('passes rl check-env', () => {
    assert.deepEqual(checkEnv('LunarLander-v3', { steps: 500, seed: 0 }).problems, []);
  });
});

describe('LunarLanderContinuous-v3', () => {
  /** Each discrete action's continuous twin at full power: noop, left, main, right. */
  const TWIN = [Float32Array.of(-1, 0), Float32Array.of(-1, -1), Float32Array.of(1, 0), Float32Array.of(-1, 1)];

  it('has a 2-dim Box action in [-1, 1] and the discrete env’s observations; registered with a 1000-step limit and a reward threshold of 200', () => {
    const env = new LunarLander({ continuous: true });
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Box', shape: [2], low: [-1, -1], high: [1, 1] });
    assert.deepEqual(env.observationSpace.toSpec(), new LunarLander().observationSpace.toSpec());
    const spec = envSpec('LunarLanderContinuous-v3');
    assert.deepEqual([spec.maxEpisodeSteps, spec.rewardThreshold, spec.renderFps], [1000, 200, 50]);
    const made = makeEnv('LunarLanderContinuous-v3');
    assert.ok(made instanceof TimeLimit && made.env instanceof LunarLander && made.actionSpace.type === 'Box');
  });

  it('reads [main, lateral] by Gymnasium’s rules: main fires above 0 at (clip(main, 0, 1) + 1) / 2, a side engine beyond ±0.5 at clip(|lateral|, 0.5, 1)', () => {
    const cases: [number[], [number, number, number]][] = [
      [[0, 0], [0, 0, 0]],
      [[-0.3, 0.5], [0, 0, 0]], // main off at or below 0; lateral 0.5 is not beyond 0.5
      [[0.5, 0], [0.75, 0, 0]],
      [[1, 0], [1, 0, 0]],
      [[3, 0], [1, 0, 0]], // clipped to 1 first
      [[0, 0.6], [0, 0.6, 1]], // the right engine (as discrete 3)
      [[0, -0.8], [0, 0.8, -1]], // the left engine (as discrete 1)
      [[0.2, -5], [0.6, 1, -1]],
    ];
    for (const [action, [main, side, direction]] of cases) {
      const e = enginesOf(Float32Array.from(action));
      assertNear([e.main, e.side, e.direction], [main, side, direction], `[${action}]`);
    }
    assert.deepEqual([0, 1, 2, 3].map((a) => enginesOf(a)), [
      { main: 0, side: 0, direction: 0 },
      { main: 0, side: 1, direction: -1 },
      { main: 1, side: 0, direction: 0 },
      { main: 0, side: 1, direction: 1 },
    ]);
  });

  it('is the discrete env’s physics: each discrete action’s full-power twin gives the same episode, step for step', () => {
    const play = (continuous: boolean) => {
      const env = new LunarLander({ continuous });
      const rng = new Rng(4);
      const trace: number[] = [...env.reset({ seed: 8 }).obs];
      for (let t = 0; t < 200; t++) {
        const a = rng.int(4);
        const r = env.step(continuous ? TWIN[a] : a);
        trace.push(...r.obs, r.reward, Number(r.terminated));
        if (r.terminated) break;
      }
      return trace;
    };
    assert.deepEqual(play(true), play(false));
  });

  it('charges fuel by power: 0.3 x (main + 1) / 2 for the main engine, 0.03 x |lateral| for a side engine', () => {
    for (const [action, fuel] of [[[0.5, 0], 0.3 * 0.75], [[-1, 0.7], 0.03 * 0.7], [[0.2, -0.9], 0.3 * 0.6 + 0.03 * 0.9]] as const) {
      const env = new LunarLander({ continuous: true });
      const s0 = env.reset({ seed: 3 }).obs;
      const r = env.step(Float32Array.from(action));
      const expected = shapingOf(r.obs) - shapingOf(s0) - fuel;
      assert.ok(Math.abs(r.reward - expected) < 1e-4, `[${action}]: reward ${r.reward} vs ${expected}`);
    }
  });

  it('lets Gymnasium’s continuous heuristic land on the pad and come to rest, averaging over 200', () => {
    const episodes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => runEpisode(new LunarLander({ continuous: true }), seed, continuousHeuristic));
    const landed = episodes.filter((e) => e.last.terminated && e.last.reward === 100);
    assert.ok(landed.length >= 8, `landed ${landed.length} of 10: ${episodes.map((e) => e.ret.toFixed(0))}`);
    assert.ok(mean(episodes.map((e) => e.ret)) > 200, `mean return ${mean(episodes.map((e) => e.ret))}`);
  });

  it('rejects an action that is not 2 finite numbers, naming LunarLanderContinuous-v3; passes rl check-env', () => {
    const env = new LunarLander({ continuous: true });
    env.reset({ seed: 0 });
    assert.throws(() => env.step(2), /^RangeError: LunarLanderContinuous-v3: action must be a Float32Array of 2 finite number\(s\)/);
    assert.throws(() => env.step(Float32Array.of(0, NaN)), /LunarLanderContinuous-v3: action must be/);
    assert.deepEqual(checkEnv('LunarLanderContinuous-v3', { steps: 500, seed: 0 }).problems, []);
  });
});

function assertNear(actual: number[], expected: number[], what: string): void {
  assert.ok(actual.every((a, i) => Math.abs(a - expected[i]) < 1e-6), `${what}: [${actual}] vs [${expected}]`);
}
