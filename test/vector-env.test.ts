import { strict as assert } from 'node:assert';
import type { Observation } from '../core/algorithm';
import { Box, Discrete, TimeLimit, VectorEnv, makeEnv, type Env, type ResetOptions, type ResetResult, type StepResult } from '../envs';
import { EnvError } from '../core/errors';

/**
 * Observation: 100 * seed + steps so far. Reward on step t is t, so an episode of n steps
 * returns n(n+1)/2. Terminates at step `terminateAt` (never, by default).
 */
class CounterEnv implements Env {
  readonly observationSpace = new Box(0, 1000, [1]);
  readonly actionSpace = new Discrete(2);
  protected t = 0;
  private base = 0;

  constructor(private readonly terminateAt = Infinity) {}

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.base = 100 * opts.seed;
    this.t = 0;
    return { obs: Float32Array.of(this.base), info: {} };
  }

  step(): StepResult {
    this.t += 1;
    return { obs: Float32Array.of(this.base + this.t), reward: this.t, terminated: this.t >= this.terminateAt, truncated: false, info: {} };
  }

  close(): void {}
}

/** A CounterEnv whose step number `badAt` returns a result spoiled by `spoil`. */
class BrokenEnv extends CounterEnv {
  constructor(
    private readonly badAt: number,
    private readonly spoil: (r: StepResult) => unknown,
  ) {
    super();
  }

  override step(): StepResult {
    const r = super.step();
    if (this.t === this.badAt) this.spoil(r);
    return r;
  }
}

function assertEnvError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EnvError, `expected an EnvError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

const rows = (obs: Observation) => Array.from(obs);

describe('VectorEnv', () => {
  describe('with CartPole-v1', () => {
    const seeds = [1, 2, 3];

    it('resets each env with its own seed, row i matching a single env reset with seeds[i]', () => {
      const vec = new VectorEnv('CartPole-v1', seeds.map(() => makeEnv('CartPole-v1')));
      assert.equal(vec.numEnvs, 3);
      assert.equal(vec.obsSize, 4);
      const obs = vec.reset(seeds);
      assert.equal(obs.length, 12);
      const singles = seeds.map((seed) => makeEnv('CartPole-v1').reset({ seed }).obs);
      seeds.forEach((_, i) => assert.deepEqual(rows(obs.subarray(4 * i, 4 * i + 4)), rows(singles[i]), `env ${i}`));
      assert.notDeepEqual(rows(singles[0]), rows(singles[1]));
    });

    it('steps each env with its own action, row i matching a single env stepped alike', () => {
      const vec = new VectorEnv('CartPole-v1', seeds.map(() => makeEnv('CartPole-v1')));
      vec.reset(seeds);
      const singles = seeds.map((seed) => {
        const env = makeEnv('CartPole-v1');
        env.reset({ seed });
        return env;
      });
      const actions = Int32Array.of(0, 1, 1);
      const r = vec.step(actions);
      singles.forEach((env, i) => assert.deepEqual(rows(r.obs.subarray(4 * i, 4 * i + 4)), rows(env.step(actions[i]).obs), `env ${i}`));
      assert.deepEqual(Array.from(r.rewards), [1, 1, 1]);
      assert.deepEqual(Array.from(r.terminated), [0, 0, 0]);
      assert.deepEqual(Array.from(r.truncated), [0, 0, 0]);
      assert.deepEqual(r.finalObs, [null, null, null]);
      assert.deepEqual(r.finished, []);
    });

    it('hands back copies of its observations, not its own buffer', () => {
      const vec = new VectorEnv('CartPole-v1', [makeEnv('CartPole-v1')]);
      const obs = vec.reset([1]);
      obs.fill(99);
      assert.ok(vec.step(Int32Array.of(0)).obs.every((v) => Math.abs(v) < 1));
    });
  });

  describe('auto-reset', () => {
    // env 0 truncates at step 3; env 1 terminates every 2 steps; env 2 terminates at step 4, its time limit.
    function counters(): VectorEnv {
      return new VectorEnv('Counter-v0', [new TimeLimit(new CounterEnv(), 3), new TimeLimit(new CounterEnv(2), 5), new TimeLimit(new CounterEnv(4), 4)]);
    }
    const actions = Int32Array.of(0, 0, 0);

    it('resets a finished env on the same step, handing back its last observation, return and length', () => {
      const vec = counters();
      assert.deepEqual(rows(vec.reset([1, 2, 3])), [100, 200, 300]);

      const s1 = vec.step(actions);
      assert.deepEqual(rows(s1.obs), [101, 201, 301]);
      assert.deepEqual(Array.from(s1.rewards), [1, 1, 1]);
      assert.deepEqual(s1.finished, []);

      // Step 2: env 1 terminates after rewards 1 + 2.
      const s2 = vec.step(actions);
      assert.deepEqual(rows(s2.obs), [102, 200, 302]);
      assert.deepEqual(Array.from(s2.rewards), [2, 2, 2]);
      assert.deepEqual(Array.from(s2.terminated), [0, 1, 0]);
      assert.deepEqual(Array.from(s2.truncated), [0, 0, 0]);
      assert.deepEqual(s2.finalObs[0], null);
      assert.deepEqual(rows(s2.finalObs[1]!), [202]);
      assert.deepEqual(s2.finalObs[2], null);
      assert.deepEqual(s2.finished, [{ env: 1, return: 3, length: 2 }]);

      // Step 3: env 0 hits its time limit after rewards 1 + 2 + 3; env 1 is one step into its second episode.
      const s3 = vec.step(actions);
      assert.deepEqual(rows(s3.obs), [100, 201, 303]);
      assert.deepEqual(Array.from(s3.rewards), [3, 1, 3]);
      assert.deepEqual(Array.from(s3.terminated), [0, 0, 0]);
      assert.deepEqual(Array.from(s3.truncated), [1, 0, 0]);
      assert.deepEqual(rows(s3.finalObs[0]!), [103]);
      assert.deepEqual([s3.finalObs[1], s3.finalObs[2]], [null, null]);
      assert.deepEqual(s3.finished, [{ env: 0, return: 6, length: 3 }]);

      // Step 4: env 2 terminates on its last allowed step (a termination, not a truncation); env 1 terminates again.
      const s4 = vec.step(actions);
      assert.deepEqual(rows(s4.obs), [101, 200, 300]);
      assert.deepEqual(Array.from(s4.terminated), [0, 1, 1]);
      assert.deepEqual(Array.from(s4.truncated), [0, 0, 0]);
      assert.deepEqual(s4.finalObs[0], null);
      assert.deepEqual(rows(s4.finalObs[1]!), [202]);
      assert.deepEqual(rows(s4.finalObs[2]!), [304]);
      assert.deepEqual(s4.finished, [
        { env: 1, return: 3, length: 2 },
        { env: 2, return: 10, length: 4 },
      ]);
    });

    it('starts episode returns and lengths over on reset', () => {
      const vec = new VectorEnv('Counter-v0', [new TimeLimit(new CounterEnv(), 2)]);
      vec.reset([0]);
      vec.step(Int32Array.of(0));
      vec.reset([0]);
      assert.deepEqual(vec.step(Int32Array.of(0)).finished, []);
      assert.deepEqual(vec.step(Int32Array.of(0)).finished, [{ env: 0, return: 3, length: 2 }]);
    });
  });

  describe('contract checks', () => {
    function vectorOf(env: Env): VectorEnv {
      const vec = new VectorEnv('Broken-v0', [env]);
      vec.reset([0]);
      return vec;
    }

    function stepThrice(vec: VectorEnv): void {
      for (let k = 0; k < 3; k++) vec.step(Int32Array.of(1));
    }

    it('names the env and the step when an observation has the wrong length', () => {
      const vec = vectorOf(new BrokenEnv(3, (r) => (r.obs = Float32Array.of(3, 3))));
      assertEnvError(
        () => stepThrice(vec),
        'env Broken-v0: step 3 (action 1): observation is not in observationSpace Box(shape=[1]): expected 1 elements (shape [1]), got 2',
      );
    });

    it('names the env and the step when an observation is out of bounds', () => {
      const vec = vectorOf(new BrokenEnv(2, (r) => (r.obs = Float32Array.of(-1))));
      assertEnvError(
        () => stepThrice(vec),
        'env Broken-v0: step 2 (action 1): observation is not in observationSpace Box(shape=[1]): element 0 (-1) is outside [0, 1000]',
      );
    });

    it('names the env and the step when a reward is NaN', () => {
      const vec = vectorOf(new BrokenEnv(3, (r) => (r.reward = NaN)));
      assertEnvError(() => stepThrice(vec), 'env Broken-v0: step 3 (action 1): reward must be a finite number, got NaN');
    });

    it('names the env and the step when terminated is not a boolean', () => {
      const vec = vectorOf(new BrokenEnv(1, (r) => Object.assign(r, { terminated: 0 })));
      assertEnvError(() => stepThrice(vec), 'env Broken-v0: step 1 (action 1): terminated must be a boolean, got 0');
    });

    it('names the env and the step when truncated is not a boolean', () => {
      const vec = vectorOf(new BrokenEnv(2, (r) => Object.assign(r, { truncated: 'no' })));
      assertEnvError(() => stepThrice(vec), 'env Broken-v0: step 2 (action 1): truncated must be a boolean, got "no"');
    });

    it('catches a NaN reward or observation long after the fully checked steps, naming the step and the field', () => {
      for (const [field, spoil, text] of [
        ['reward', (r: StepResult) => (r.reward = NaN), 'reward must be a finite number, got NaN'],
        ['obs', (r: StepResult) => (r.obs = Float32Array.of(Infinity)), 'observation is not in observationSpace Box(shape=[1]): element 0 is Infinity'],
      ] as const) {
        const vec = vectorOf(new BrokenEnv(150, spoil));
        for (let k = 0; k < 149; k++) vec.step(Int32Array.of(1));
        assert.throws(
          () => vec.step(Int32Array.of(1)),
          (err: unknown) => err instanceof EnvError && err.step === 150 && err.field === field && err.message === `env Broken-v0: step 150 (action 1): ${text}`,
        );
      }
    });

    it('carries the step of an env that throws by itself as a field, with its own message and where it threw', () => {
      const vec = vectorOf(new BrokenEnv(5, () => {
        throw new TypeError('wheels came off');
      }));
      assert.throws(
        () => stepThrice(vec) === stepThrice(vec),
        (err: unknown) =>
          err instanceof EnvError && err.step === 5 && err.field === 'threw' && (err.cause as Error).message === 'wheels came off' &&
          /^env Broken-v0: step 5 \(action 1\): threw wheels came off \(at .*vector-env\.test\.js:\d+:\d+\)\)$/.test(err.message),
      );
    });

    it('names the env when reset returns an observation outside the space', () => {
      class BadReset extends CounterEnv {
        override reset(): ResetResult {
          return { obs: new Float32Array(2), info: {} };
        }
      }
      const vec = new VectorEnv('Broken-v0', [new BadReset()]);
      assertEnvError(
        () => vec.reset([0]),
        'env Broken-v0: reset: observation is not in observationSpace Box(shape=[1]): expected 1 elements (shape [1]), got 2',
      );
    });
  });
});
