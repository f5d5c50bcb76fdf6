import { strict as assert } from 'node:assert';
import type { Observation } from '../core/algorithm';
import {
  Box,
  CartPole,
  Discrete,
  Rng,
  TimeLimit,
  deriveSeed,
  envSpec,
  listEnvs,
  makeEnv,
  registerEnv,
  spaceFromSpec,
  type Env,
  type ResetResult,
  type StepResult,
} from '../envs';
import { EnvError } from '../core/errors';
import { assertClose } from './helpers/assert-close';

/** An env whose observation is the step count; it terminates at `terminateAt` (never, by default). */
class CounterEnv implements Env {
  readonly observationSpace = new Box(0, 1000, [1]);
  readonly actionSpace = new Discrete(2);
  closed = false;
  private t = 0;

  constructor(private readonly terminateAt = Infinity) {}

  reset(): ResetResult {
    this.t = 0;
    return { obs: Float32Array.of(0), info: {} };
  }

  step(): StepResult {
    this.t += 1;
    return { obs: Float32Array.of(this.t), reward: 1, terminated: this.t >= this.terminateAt, truncated: false, info: {} };
  }

  close(): void {
    this.closed = true;
  }
}

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.random());
}

describe('spaces', () => {
  describe('Discrete', () => {
    it('contains the integers 0 .. n-1 and nothing else', () => {
      const d = new Discrete(3);
      for (const x of [0, 1, 2]) assert.equal(d.contains(x), true, `${x}`);
      for (const x of [-1, 3, 0.5, '1', NaN, null, undefined, Float32Array.of(1)]) assert.equal(d.contains(x), false, String(x));
    });

    it('samples values in range that hit every action over many seeded draws', () => {
      const d = new Discrete(5);
      const rng = new Rng(11);
      const counts = new Array(5).fill(0);
      for (let k = 0; k < 2000; k++) {
        const a = d.sample(rng);
        assert.ok(d.contains(a), `sample ${a} is not in Discrete(5)`);
        counts[a] += 1;
      }
      // 400 expected per value; a fair generator lands well inside [300, 500].
      for (const c of counts) assert.ok(c > 300 && c < 500, `counts ${counts}`);
    });

    it('rejects a size that is not a positive integer, naming the value', () => {
      assert.throws(() => new Discrete(0), { name: 'RangeError', message: 'Discrete(n): n must be a positive integer, got 0' });
      assert.throws(() => new Discrete(2.5), { message: 'Discrete(n): n must be a positive integer, got 2.5' });
    });
  });

  describe('Box', () => {
    const box = new Box([-1, -2], [1, 2], [2]);

    it('contains a Float32Array of the right length within bounds, bounds included', () => {
      assert.equal(box.contains(Float32Array.of(0, 0)), true);
      assert.equal(box.contains(Float32Array.of(-1, 2)), true);
      assert.equal(box.violation(Float32Array.of(1, -2)), undefined);
    });

    it('says why a value of the wrong type is not in it', () => {
      assert.equal(box.violation([0, 0]), 'expected a Float32Array, got [0, 0]');
      assert.equal(box.violation(new Float64Array(2)), 'expected a Float32Array, got Float64Array(2)');
      assert.equal(box.violation(null), 'expected a Float32Array, got null');
      assert.equal(box.violation('0,0'), 'expected a Float32Array, got "0,0"');
      assert.equal(box.contains([0, 0]), false);
    });

    it('says why a value of the wrong length is not in it, with the shape', () => {
      const grid = new Box(0, 1, [2, 3]);
      assert.equal(grid.size, 6);
      assert.equal(grid.violation(new Float32Array(5)), 'expected 6 elements (shape [2,3]), got 5');
      assert.equal(box.violation(new Float32Array(3)), 'expected 2 elements (shape [2]), got 3');
    });

    it('says which element is NaN or infinite', () => {
      assert.equal(box.violation(Float32Array.of(0, NaN)), 'element 1 is NaN');
      assert.equal(box.violation(Float32Array.of(-Infinity, 0)), 'element 0 is -Infinity');
      // Even an unbounded box holds only finite values.
      assert.equal(new Box(-Infinity, Infinity, [1]).violation(Float32Array.of(Infinity)), 'element 0 is Infinity');
    });

    it('says which element is out of bounds, with the value and the bounds', () => {
      assert.equal(box.violation(Float32Array.of(1.5, 0)), 'element 0 (1.5) is outside [-1, 1]');
      assert.equal(box.violation(Float32Array.of(0, -2.5)), 'element 1 (-2.5) is outside [-2, 2]');
      assert.equal(box.contains(Float32Array.of(1.5, 0)), false);
    });

    it('samples within finite bounds', () => {
      const b = new Box([-1, 0, 10], [1, 0.5, 20], [3]);
      const rng = new Rng(3);
      const lo = [Infinity, Infinity, Infinity];
      const hi = [-Infinity, -Infinity, -Infinity];
      for (let k = 0; k < 1000; k++) {
        const x = b.sample(rng);
        assert.equal(b.violation(x), undefined);
        for (let i = 0; i < 3; i++) {
          lo[i] = Math.min(lo[i], x[i]);
          hi[i] = Math.max(hi[i], x[i]);
        }
      }
      // The draws spread over the box, not one corner of it.
      assertClose(lo, [-1, 0, 10], 0.05, 'smallest draws');
      assertClose(hi, [1, 0.5, 20], 0.05, 'largest draws');
    });

    it('samples finite values where the bounds are infinite, on the bounded side of a half-bounded element', () => {
      const b = new Box([-Infinity, 0, -Infinity], [Infinity, Infinity, 5], [3]);
      const rng = new Rng(4);
      let negatives = 0;
      for (let k = 0; k < 1000; k++) {
        const x = b.sample(rng);
        assert.equal(b.violation(x), undefined);
        assert.ok(x[1] >= 0 && x[2] <= 5, `[${x}]`);
        if (x[0] < 0) negatives += 1;
      }
      // A standard normal in the unbounded element: about half below zero.
      assert.ok(negatives > 400 && negatives < 600, `${negatives} of 1000 negative`);
    });

    it('rejects low > high, naming the element', () => {
      assert.throws(() => new Box([0, 2], [1, 1], [2]), { name: 'RangeError', message: 'Box: low[1] (2) must be <= high[1] (1)' });
    });

    it('rejects bounds whose length does not match the shape, and a bad shape', () => {
      assert.throws(() => new Box(0, [1, 1, 1], [2]), { message: 'Box: high has 3 elements, shape needs 2' });
      assert.throws(() => new Box(0, 1, [2, 0]), { message: 'Box: shape must be positive integers, got [2,0]' });
    });

    it('broadcasts a scalar bound to every element', () => {
      const b = new Box(-3, 3, [2, 2]);
      assert.deepEqual(Array.from(b.low), [-3, -3, -3, -3]);
      assert.deepEqual(Array.from(b.high), [3, 3, 3, 3]);
    });
  });

  it('round-trips Discrete and Box through toSpec and spaceFromSpec', () => {
    const d = spaceFromSpec(new Discrete(7).toSpec());
    assert.ok(d instanceof Discrete);
    assert.equal(d.n, 7);

    const original = new Box([-1, -Infinity, 0, 2], [1, Infinity, 0.5, 3], [2, 2]);
    const spec = original.toSpec();
    assert.deepEqual(spec, { type: 'Box', shape: [2, 2], low: [-1, -Infinity, 0, 2], high: [1, Infinity, 0.5, 3] });
    const b = spaceFromSpec(spec);
    assert.ok(b instanceof Box);
    assert.deepEqual(b.shape, [2, 2]);
    assert.deepEqual(Array.from(b.low), Array.from(original.low));
    assert.deepEqual(Array.from(b.high), Array.from(original.high));
    assert.deepEqual(b.toSpec(), spec);
  });
});

describe('Rng', () => {
  it('gives the same sequence for the same seed', () => {
    assert.deepEqual(draws(new Rng(42), 50), draws(new Rng(42), 50));
  });

  it('gives different sequences for different seeds', () => {
    const a = draws(new Rng(1), 20);
    const b = draws(new Rng(2), 20);
    assert.ok(a.every((v, i) => v !== b[i]), 'seeds 1 and 2 share a draw at the same position');
  });

  it('resumes the exact sequence from getState, by setState or by constructing from the state', () => {
    const rng = new Rng(5);
    draws(rng, 17);
    const state = rng.getState();
    assert.ok(state.every((v) => Number.isInteger(v)), 'the state is plain integers');
    const expected = draws(rng, 30);

    rng.setState(state);
    assert.deepEqual(draws(rng, 30), expected);
    assert.deepEqual(draws(new Rng(state), 30), expected);
  });

  it('draws random() in [0, 1), spread over the interval', () => {
    const xs = draws(new Rng(9), 10000);
    assert.ok(xs.every((v) => v >= 0 && v < 1));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.ok(Math.min(...xs) < 0.001 && Math.max(...xs) > 0.999);
  });

  it('draws uniform(low, high) in [low, high) and int(n) over 0 .. n-1', () => {
    const rng = new Rng(10);
    for (let k = 0; k < 1000; k++) {
      const u = rng.uniform(-3, -1);
      assert.ok(u >= -3 && u < -1, `${u}`);
      const i = rng.int(4);
      assert.ok(Number.isInteger(i) && i >= 0 && i < 4, `${i}`);
    }
  });

  it('draws normal() with mean about 0 and variance about 1', () => {
    const rng = new Rng(12);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    assert.ok(xs.every(Number.isFinite));
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });

  it('forks deterministically into a stream unlike its parent', () => {
    const a = new Rng(8);
    const b = new Rng(8);
    const fa = a.fork();
    assert.deepEqual(draws(fa, 10), draws(b.fork(), 10));
    assert.notDeepEqual(draws(new Rng(8).fork(), 10), draws(a, 10));
  });

  it('derives seeds deterministically, as unsigned 32-bit integers distinct across indices and bases', () => {
    assert.equal(deriveSeed(7, 3), deriveSeed(7, 3));
    const seeds = Array.from({ length: 1000 }, (_, i) => deriveSeed(7, i));
    assert.ok(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32));
    assert.equal(new Set(seeds).size, 1000, 'two indices share a seed');
    assert.notEqual(deriveSeed(7, 1), deriveSeed(8, 1));
    assert.notEqual(deriveSeed(7, 0, 1), deriveSeed(7, 1, 0));
    assert.notEqual(deriveSeed(7, 0), deriveSeed(7, 0, 0));
  });
});

// Gymnasium's CartPole-v1 constants (classic_control/cartpole.py), written out again here.
const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_CART + MASS_POLE;
const LENGTH = 0.5;
const POLE_MASS_LENGTH = MASS_POLE * LENGTH;
const FORCE_MAG = 10;
const TAU = 0.02;

/** One explicit-Euler CartPole step, from Gymnasium's equations. */
function cartpoleStep([x, xDot, theta, thetaDot]: number[], action: 0 | 1): number[] {
  const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const temp = (force + POLE_MASS_LENGTH * thetaDot ** 2 * sin) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sin - cos * temp) / (LENGTH * (4 / 3 - (MASS_POLE * cos ** 2) / TOTAL_MASS));
  const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
  return [x + TAU * xDot, xDot + TAU * xAcc, theta + TAU * thetaDot, thetaDot + TAU * thetaAcc];
}

/** Push towards the side the pole is falling to. */
function balance(obs: Observation): 0 | 1 {
  return obs[2] + 0.5 * obs[3] > 0 ? 1 : 0;
}

describe('CartPole-v1', () => {
  const TOL = 1e-6; // observations are float32

  it('steps from [0, 0, 0.05, 0] with action 1 to the values worked out by hand', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, 0.05, 0] } });
    const { obs, reward, terminated, truncated } = env.step(1);
    assert.ok(obs instanceof Float32Array);
    // python3, Gymnasium's equations in float64: x_dot = tau * xacc, theta_dot = tau * thetaacc.
    assertClose(obs, [0, 0.194370546605301, 0.05, -0.2764975752871551], TOL, 'obs');
    assertClose(obs, cartpoleStep([0, 0, 0.05, 0], 1), TOL, 'obs');
    assert.deepEqual([reward, terminated, truncated], [1, false, false]);
  });

  it('steps from [0, 0, 0.05, 0] with action 0 to the values worked out by hand', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, 0.05, 0] } });
    const { obs } = env.step(0);
    assertClose(obs, [0, -0.19580204225688186, 0.05, 0.30802988680046994], TOL, 'obs');
    assertClose(obs, cartpoleStep([0, 0, 0.05, 0], 0), TOL, 'obs');
  });

  it('integrates nonzero velocities with explicit Euler, for both actions', () => {
    const start = [0.1, -0.3, -0.02, 0.4];
    const hand: Record<0 | 1, number[]> = {
      1: [0.094, -0.10460013599488932, -0.012, 0.10107921398972308],
      0: [0.094, -0.49483261851817806, -0.012, 0.686310871932172],
    };
    for (const action of [1, 0] as const) {
      const env = new CartPole();
      env.reset({ options: { state: start } });
      const { obs } = env.step(action);
      assertClose(obs, hand[action], TOL, `action ${action}`);
      assertClose(obs, cartpoleStep(start, action), TOL, `action ${action}`);
    }
  });

  it('keeps integrating in float64 across steps, matching the equations for ten steps', () => {
    const env = new CartPole();
    let state = [0.01, 0.2, -0.03, -0.1];
    env.reset({ options: { state } });
    for (let k = 0; k < 10; k++) {
      const action = k % 3 === 0 ? 0 : 1;
      state = cartpoleStep(state, action);
      assertClose(env.step(action).obs, state, TOL, `step ${k + 1}`);
    }
  });

  it('returns the given options.state as the reset observation', () => {
    const { obs } = new CartPole().reset({ options: { state: [0.5, -1, 0.1, 2] } });
    assertClose(obs, [0.5, -1, 0.1, 2], TOL, 'obs');
  });

  it('terminates when the pole leans past 12 degrees, still rewarding that step 1', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, 0.2094, 1] } });
    const r = env.step(1);
    // theta = 0.2094 + 0.02 * 1 = 0.2294 > 12 degrees = 0.20943951 rad.
    assert.ok(Math.abs(r.obs[2] - 0.2294) < TOL);
    assert.equal(r.terminated, true);
    assert.equal(r.truncated, false);
    assert.equal(r.reward, 1);
  });

  it('terminates on the negative side too', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, -0.2094, -1] } });
    assert.equal(env.step(0).terminated, true);
  });

  it('does not terminate with the pole just inside 12 degrees', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, 0.2094, 0] } }); // theta stays 0.2094 for one step
    const r = env.step(1);
    assert.equal(r.terminated, false);
    assert.equal(r.reward, 1);
  });

  it('terminates when the cart leaves [-2.4, 2.4]', () => {
    const env = new CartPole();
    env.reset({ options: { state: [2.39, 1, 0, 0] } }); // x = 2.39 + 0.02 * 1 = 2.41
    const right = env.step(1);
    assert.ok(Math.abs(right.obs[0] - 2.41) < TOL);
    assert.deepEqual([right.terminated, right.reward], [true, 1]);

    env.reset({ options: { state: [-2.39, -1, 0, 0] } });
    assert.equal(env.step(0).terminated, true);

    env.reset({ options: { state: [2.37, 1, 0, 0] } }); // x = 2.39: still inside
    assert.equal(env.step(1).terminated, false);
  });

  it('rewards 0 for steps taken after termination, as Gymnasium does', () => {
    const env = new CartPole();
    env.reset({ options: { state: [0, 0, 0.2094, 1] } });
    assert.equal(env.step(1).reward, 1);
    const after = env.step(1);
    assert.deepEqual([after.terminated, after.reward], [true, 0]);
    // A reset clears it.
    env.reset({ options: { state: [0, 0, 0.2094, 1] } });
    assert.equal(env.step(1).reward, 1);
  });

  it('reproduces a seeded reset, with every component in [-0.05, 0.05]', () => {
    const a = new CartPole().reset({ seed: 123 }).obs;
    const b = new CartPole().reset({ seed: 123 }).obs;
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(new CartPole().reset({ seed: 124 }).obs), Array.from(a));
    for (let seed = 0; seed < 200; seed++) {
      const obs = new CartPole().reset({ seed }).obs;
      assert.ok(obs.every((v) => v >= -0.05 && v <= 0.05), `seed ${seed}: [${obs}]`);
    }
  });

  it('continues its stream on a reset without a seed, and restarts it on reseeding', () => {
    const env = new CartPole();
    const first = Array.from(env.reset({ seed: 5 }).obs);
    const second = Array.from(env.reset().obs);
    assert.notDeepEqual(second, first);
    assert.deepEqual(Array.from(env.reset({ seed: 5 }).obs), first);
    assert.deepEqual(Array.from(env.reset().obs), second);
  });

  it('rejects an action outside Discrete(2), naming CartPole-v1', () => {
    const env = new CartPole();
    env.reset({ seed: 0 });
    assert.throws(() => env.step(2), { name: 'RangeError', message: 'CartPole-v1: action 2 is not in Discrete(2)' });
    assert.throws(() => env.step(-1), { message: 'CartPole-v1: action -1 is not in Discrete(2)' });
    assert.throws(() => env.step(0.5), { message: 'CartPole-v1: action 0.5 is not in Discrete(2)' });
  });

  it('rejects an options.state that is not four finite numbers', () => {
    const env = new CartPole();
    assert.throws(() => env.reset({ options: { state: [0, 0, 0] } }), {
      name: 'RangeError',
      message: 'CartPole-v1: reset options.state must be 4 finite numbers, got [0,0,0]',
    });
    assert.throws(() => env.reset({ options: { state: [0, NaN, 0, 0] } }), /^RangeError: CartPole-v1: reset options\.state must be 4 finite numbers, got /);
    assert.throws(() => env.reset({ options: { state: [0, 0, Infinity, 0] } }), /CartPole-v1: reset options\.state must be 4 finite numbers/);
    assert.throws(() => env.reset({ options: { state: '0,0,0,0' } }), /CartPole-v1: reset options\.state must be 4 finite numbers, got "0,0,0,0"/);
  });

  it('has Gymnasium’s spaces: Discrete(2) actions and a 4-element observation box', () => {
    const env = new CartPole();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Discrete', n: 2 });
    assert.deepEqual(env.observationSpace.shape, [4]);
    const theta2 = (2 * 12 * 2 * Math.PI) / 360;
    assert.deepEqual(Array.from(env.observationSpace.high), [4.8, Infinity, theta2, Infinity].map(Math.fround));
    assert.deepEqual(Array.from(env.observationSpace.low), [-4.8, -Infinity, -theta2, -Infinity].map(Math.fround));
  });
});

describe('time limit', () => {
  it('truncates CartPole-v1 from makeEnv at step 500 exactly, never terminating under a balancing policy', () => {
    const env = makeEnv('CartPole-v1');
    let obs = env.reset({ options: { state: [0, 0, 0, 0] } }).obs;
    for (let step = 1; step <= 500; step++) {
      const r = env.step(balance(obs));
      obs = r.obs;
      assert.equal(r.terminated, false, `terminated at step ${step}`);
      assert.equal(r.reward, 1);
      assert.equal(r.truncated, step === 500, `truncated at step ${step}`);
    }
  });

  it('truncates an env that never terminates at the limit, and starts counting again on reset', () => {
    const env = new TimeLimit(new CounterEnv(), 3);
    for (let episode = 0; episode < 2; episode++) {
      env.reset();
      const flags = [1, 2, 3].map(() => {
        const r = env.step(0);
        return [r.terminated, r.truncated];
      });
      assert.deepEqual(flags, [
        [false, false],
        [false, false],
        [false, true],
      ]);
    }
  });

  it('reports both terminated and truncated when the env terminates on the last allowed step, as Gymnasium does', () => {
    const env = new TimeLimit(new CounterEnv(3), 3);
    env.reset();
    env.step(0);
    env.step(0);
    const r = env.step(0);
    assert.deepEqual([r.terminated, r.truncated], [true, true]);
  });

  it('reports only terminated when the env terminates before the limit', () => {
    const env = new TimeLimit(new CounterEnv(2), 3);
    env.reset();
    env.step(0);
    const r = env.step(0);
    assert.deepEqual([r.terminated, r.truncated], [true, false]);
  });

  it('passes the spaces through and closes the env it wraps', () => {
    const inner = new CounterEnv();
    const env = new TimeLimit(inner, 3);
    assert.equal(env.observationSpace, inner.observationSpace);
    assert.equal(env.actionSpace, inner.actionSpace);
    env.close();
    assert.equal(inner.closed, true);
  });
});

describe('registry', () => {
  it('lists CartPole-v1 with a 500-step limit and a reward threshold of 475', () => {
    const spec = listEnvs().find((s) => s.id === 'CartPole-v1');
    assert.ok(spec, 'CartPole-v1 is not registered');
    assert.equal(spec.maxEpisodeSteps, 500);
    assert.equal(spec.rewardThreshold, 475);
    assert.equal(envSpec('CartPole-v1'), spec);
  });

  it('wraps a registered env in its time limit', () => {
    const env = makeEnv('CartPole-v1');
    assert.ok(env instanceof TimeLimit);
    assert.equal(env.maxEpisodeSteps, 500);
    assert.ok(env.env instanceof CartPole);
  });

  it('rejects an unknown id with an EnvError that lists the registered ids', () => {
    const ids = listEnvs().map((s) => s.id);
    assert.throws(
      () => makeEnv('CartPul-v1'),
      (err: unknown) => {
        assert.ok(err instanceof EnvError, `got ${String(err)}`);
        assert.equal(err.message, `unknown env id "CartPul-v1"; did you mean "CartPole-v1"? Registered: ${ids.join(", ")} (see \`rl envs\`)`);
        assert.match(err.message, /Registered: .*CartPole-v1/);
        return true;
      },
    );
  });

  it('rejects registering an id twice', () => {
    assert.throws(
      () => registerEnv('CartPole-v1', () => new CartPole()),
      (err: unknown) => err instanceof EnvError && err.message === 'env id "CartPole-v1" is already registered',
    );
  });

  it('builds a newly registered env with its config and its own time limit, and refuses it a second time', () => {
    const seen: Record<string, unknown>[] = [];
    registerEnv(
      'EnvsTest-Counter-v0',
      (config) => {
        seen.push(config);
        return new CounterEnv(config.terminateAt as number);
      },
      { maxEpisodeSteps: 4 },
    );
    const env = makeEnv('EnvsTest-Counter-v0', { terminateAt: 10 });
    assert.deepEqual(seen, [{ terminateAt: 10 }]);
    env.reset();
    const truncated = [1, 2, 3, 4].map(() => env.step(0).truncated);
    assert.deepEqual(truncated, [false, false, false, true]);
    assert.ok(listEnvs().some((s) => s.id === 'EnvsTest-Counter-v0'));
    assert.throws(() => registerEnv('EnvsTest-Counter-v0', () => new CounterEnv()), { message: 'env id "EnvsTest-Counter-v0" is already registered' });
  });

  it('builds an env without a time limit as it is', () => {
    registerEnv('EnvsTest-Unlimited-v0', () => new CounterEnv());
    assert.ok(makeEnv('EnvsTest-Unlimited-v0') instanceof CounterEnv);
  });
});
