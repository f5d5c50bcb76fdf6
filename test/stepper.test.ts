import { strict as assert } from 'node:assert';
import type { ActInput, ActResult } from '../core/algorithm';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import type { Env, StepResult } from '../envs/env';
import { envActions, Stepper } from '../envs/stepper';
import { VectorEnv } from '../envs/vector-env';
import { checkEnv } from '../src/check-env';
import { registerEnv } from '../envs/registry';
import { MaskedCorridor } from './helpers/toy-algorithm';

/** A corridor whose mask misbehaves after `badAt` steps: `kind` says how. */
class BadMask extends MaskedCorridor {
  private steps = 0;
  constructor(private readonly kind: 'none-legal' | 'short', private readonly badAt: number) {
    super(50);
  }
  override reset() {
    this.steps = 0;
    return super.reset();
  }
  override step(action: number | Float32Array): StepResult {
    this.steps += 1;
    return super.step(action);
  }
  override actionMask(): Uint8Array {
    if (this.steps < this.badAt) return super.actionMask();
    return this.kind === 'none-legal' ? new Uint8Array(3) : Uint8Array.of(1, 1);
  }
}

/** Records what it was asked, and always answers the action `pick` (a function of the input). */
class Recorder {
  readonly inputs: { mask: Uint8Array | null; starts: number[]; counter: number[] }[] = [];
  constructor(private readonly pick: (input: ActInput) => Float32Array) {}
  act(input: ActInput): ActResult {
    const counter = input.state.counter ? Array.from(input.state.counter) : [];
    this.inputs.push({ mask: input.mask && input.mask.slice(), starts: Array.from(input.episodeStarts), counter });
    const next: Record<string, Float32Array> = input.state.counter ? { counter: Float32Array.from(input.state.counter, (c) => c + 1) } : {};
    return { actions: this.pick(input), columns: {}, state: next };
  }
}

describe('the stepper', () => {
  it('clips Box actions to the bounds, or squashes them by tanh and scales them to the bounds', () => {
    const space = new Box([-2, 0], [2, 10], [2]);
    const raw = Float32Array.of(3, -1, 0, 0.5);
    assert.deepEqual(Array.from(envActions(space, raw, 'clip')), [2, 0, 0, 0.5]);
    const squashed = envActions(space, raw, 'squash');
    // low + (tanh(a) + 1) / 2 * (high - low)
    const want = [-2 + ((Math.tanh(3) + 1) / 2) * 4, 0 + ((Math.tanh(-1) + 1) / 2) * 10, 0, 0 + ((Math.tanh(0.5) + 1) / 2) * 10];
    squashed.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${i}: ${v} vs ${want[i]}`));
    assert.deepEqual(Array.from(envActions(new Discrete(3), Float32Array.of(2, 1), 'squash')), [2, 1]);
  });

  it('squashes a saturated tanh onto the bounds themselves: half and mid in float64 (in float32, [-2.0108306, 5.6516171] gives -2.0108309 below low)', () => {
    const space = new Box([-2.0108306407928467, 0.1], [5.651617050170898, 0.35], [2]);
    const out = envActions(space, Float32Array.of(30, -30, -30, 30), 'squash');
    assert.deepEqual(Array.from(out), [space.high[0], space.low[1], space.low[0], space.high[1]]);
  });

  it("hands the env's action masks to the policy, and a recurrent state that is zero at each episode's start", () => {
    const envs = new VectorEnv('corridor', [new MaskedCorridor(3), new MaskedCorridor(3)]);
    // env 0 always goes right (done after 2 steps), env 1 stays (never done)
    const policy = new Recorder(() => Float32Array.of(2, 1));
    const stepper = new Stepper(envs, policy, { state: [{ name: 'counter', size: 1 }], boxActions: 'clip' }, new Rng(1));
    stepper.reset([1, 2]);
    for (let t = 0; t < 5; t++) stepper.step();
    assert.deepEqual(Array.from(policy.inputs[0].mask!), [0, 1, 1, 0, 1, 1], 'first cell: left illegal');
    assert.deepEqual(Array.from(policy.inputs[1].mask!), [1, 1, 1, 0, 1, 1], 'env 0 in the middle cell');
    assert.deepEqual(Array.from(policy.inputs[2].mask!), [0, 1, 1, 0, 1, 1], "env 0 reset: its mask is the new episode's");
    assert.deepEqual(policy.inputs.map((i) => i.starts), [[1, 1], [0, 0], [1, 0], [0, 0], [1, 0]]);
    assert.deepEqual(policy.inputs.map((i) => i.counter), [[0, 0], [1, 1], [0, 2], [1, 3], [0, 4]]);
  });

  it('refuses an action its mask forbids, naming the env, the step and the mask', () => {
    const envs = new VectorEnv('corridor', [new MaskedCorridor(3)]);
    const stepper = new Stepper(envs, new Recorder(() => Float32Array.of(0)), { state: [], boxActions: 'clip' }, new Rng(1));
    stepper.reset([1]);
    // field 'action': the policy's fault, not the env's (a worker refuses the run rather than rebuilding its envs)
    assert.throws(() => stepper.step(), (e: unknown) => e instanceof EnvError && e.field === 'action' && /env corridor: step 1: action 0 is illegal in this state \(actionMask 011\)/.test(e.message));
  });

  it('asks no mask of a terminal state (a game over may leave no legal action), only of a truncated one', () => {
    class GameOver extends MaskedCorridor {
      private over = false;
      override reset() {
        this.over = false;
        return super.reset();
      }
      override step(action: number | Float32Array): StepResult {
        const r = super.step(action);
        this.over = r.terminated;
        return r;
      }
      override actionMask(): Uint8Array {
        return this.over ? new Uint8Array(3) : super.actionMask();
      }
    }
    const envs = new VectorEnv('over', [new GameOver(2)]);
    const stepper = new Stepper(envs, new Recorder(() => Float32Array.of(2)), { state: [], boxActions: 'clip' }, new Rng(1));
    stepper.reset([1]);
    const s = stepper.step();
    assert.equal(s.step.terminated[0], 1);
    assert.deepEqual(s.step.finalMasks, [null]);
    assert.deepEqual(Array.from(s.step.masks!), [0, 1, 1], "the next episode's first mask");
  });

  it("names an env whose mask leaves no legal action, or has the wrong length, with its step", () => {
    const none = new VectorEnv('bad', [new BadMask('none-legal', 2)]);
    const s1 = new Stepper(none, new Recorder(() => Float32Array.of(1)), { state: [], boxActions: 'clip' }, new Rng(1));
    s1.reset([1]);
    s1.step();
    assert.throws(() => s1.step(), /env bad: after step 2: actionMask\(\) leaves no legal action/);
    const short = new VectorEnv('bad', [new BadMask('short', 0)]);
    assert.throws(() => short.reset([1]), /env bad: after reset: actionMask\(\) has 2 entries, Discrete\(3\) needs 3/);
  });

  it('gives each env its step info and lets a video draw the last frame of an episode before the reset', () => {
    class Info extends MaskedCorridor {
      override step(action: number | Float32Array): StepResult {
        return { ...super.step(action), info: { seen: action } };
      }
    }
    const envs = new VectorEnv('info', [new Info(2)]);
    const drawn: number[] = [];
    const stepper = new Stepper(envs, new Recorder(() => Float32Array.of(2)), { state: [], boxActions: 'clip' }, new Rng(1));
    stepper.reset([1]);
    const s = stepper.step((env) => drawn.push(env));
    assert.deepEqual(s.step.infos, [{ seen: 2 }]);
    assert.deepEqual(drawn, [0], 'the finished env, before its reset');
    assert.equal(s.step.terminated[0], 1);
  });

  it('rl check-env reports a mask that leaves no legal action, and passes a good one', () => {
    registerEnv('BadMaskCheck-v0', () => new BadMask('none-legal', 4) as Env);
    registerEnv('GoodMaskCheck-v0', () => new MaskedCorridor(4) as Env, { maxEpisodeSteps: 10 });
    const bad = checkEnv('BadMaskCheck-v0', { steps: 20, seed: 0 });
    assert.ok(bad.problems.some((p) => /actionMask\(\) after step 4 .* leaves no legal action/.test(p)), bad.problems.join('\n'));
    const good = checkEnv('GoodMaskCheck-v0', { steps: 50, seed: 0 });
    assert.deepEqual(good.problems, []);
    assert.ok(good.passed.some((p) => /random legal actions/.test(p)));
  });
});
