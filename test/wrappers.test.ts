import { strict as assert } from 'node:assert';
import { Box, Discrete, registerEnv, type Env } from '../envs';
import { areaResize, FrameStack, GrayscaleResize, wrapEnv } from '../envs/wrappers';
import { EnvError } from '../core/errors';
import { createEnv } from '../src/env-loader';

/** An env whose observations are given in advance: reset gives the first, each step the next. */
class Scripted implements Env {
  readonly actionSpace = new Discrete(2);
  private t = 0;

  constructor(
    readonly observationSpace: Box,
    private readonly frames: number[][],
  ) {}

  reset() {
    this.t = 0;
    return { obs: Uint8Array.from(this.frames[0]), info: {} };
  }

  step() {
    this.t += 1;
    return { obs: Uint8Array.from(this.frames[this.t]), reward: 0, terminated: false, truncated: false, info: {} };
  }

  close(): void {}
}

describe('observation wrappers', () => {
  it('frameStack: k frames along the channel axis, oldest first, the first frame repeated after a reset', () => {
    // 1 x 2 pixels, 1 channel; frames [1, 2], [3, 4], [5, 6].
    const env = new FrameStack(new Scripted(new Box(0, 9, [1, 2, 1], 'uint8'), [[1, 2], [3, 4], [5, 6]]), 3);
    assert.deepEqual(env.observationSpace.shape, [1, 2, 3]);
    assert.equal(env.observationSpace.dtype, 'uint8');
    assert.deepEqual(Array.from(env.reset().obs), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(Array.from(env.step(0).obs), [1, 1, 3, 2, 2, 4]);
    const third = env.step(0).obs;
    assert.ok(third instanceof Uint8Array);
    assert.deepEqual(Array.from(third), [1, 3, 5, 2, 4, 6]);
    assert.deepEqual(Array.from(env.reset().obs), [1, 1, 1, 2, 2, 2], 'a reset forgets the last episode');
  });

  it('frameStack keeps each pixel’s channels together: 2 channels, 2 frames', () => {
    const env = new FrameStack(new Scripted(new Box(0, 9, [1, 1, 2], 'uint8'), [[1, 2], [3, 4]]), 2);
    env.reset();
    assert.deepEqual(Array.from(env.step(0).obs), [1, 2, 3, 4]);
  });

  it('frameStack on a vector (n) gives (k * n), the vectors oldest first, as Gymnasium\'s (k, n) flattened', () => {
    // n = 2 with bounds 0..9; frames [1, 2], [3, 4], [5, 6]; k = 2.
    const env = new FrameStack(new Scripted(new Box(0, 9, [2], 'uint8'), [[1, 2], [3, 4], [5, 6]]), 2);
    assert.deepEqual(env.observationSpace.shape, [4]);
    assert.deepEqual(Array.from(env.reset().obs), [1, 2, 1, 2]);
    assert.deepEqual(Array.from(env.step(0).obs), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(env.step(0).obs), [3, 4, 5, 6]);
  });

  it('grayscale: luma 0.299 R + 0.587 G + 0.114 B, rounded', () => {
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100];
    const env = new GrayscaleResize(new Scripted(new Box(0, 255, [2, 2, 3], 'uint8'), [rgb]), true, undefined);
    assert.deepEqual(env.observationSpace.shape, [2, 2, 1]);
    // 76.245, 149.685, 29.07, 100
    assert.deepEqual(Array.from(env.reset().obs), [76, 150, 29, 100]);
  });

  it("grayscale/resize keeps the picture's bounds (the network scales by them): 0..255 stays 0..255, 0..1 planes stay 0..1", () => {
    const rgb = new GrayscaleResize(new Scripted(new Box(0, 255, [2, 2, 3], 'uint8'), [Array(12).fill(7)]), true, [1, 1]).observationSpace;
    assert.deepEqual([rgb.low[0], rgb.high[0]], [0, 255]);
    const planes = new GrayscaleResize(new Scripted(new Box(0, 1, [4, 4, 2], 'uint8'), [Array(32).fill(1)]), false, [2, 2]);
    assert.deepEqual([planes.observationSpace.low[0], planes.observationSpace.high[0], planes.observationSpace.shape], [0, 1, [2, 2, 2]]);
    assert.ok(planes.observationSpace.contains(planes.reset().obs));
  });

  it('resize by area: whole blocks are their means; a 3 -> 2 axis weighs the middle pixel half to each side', () => {
    const block = Float32Array.of(0, 4, 10, 10, 8, 4, 20, 30, 1, 1, 5, 5, 1, 1, 5, 5); // 4 x 4 x 1
    assert.deepEqual(Array.from(areaResize(block, [4, 4, 1], [2, 2])), [4, 17.5, 1, 5]);
    // Row [0, 30, 90]: out 0 = (0 * 1 + 30 * 0.5) / 1.5 = 10; out 1 = (30 * 0.5 + 90 * 1) / 1.5 = 70.
    assert.deepEqual(Array.from(areaResize(Float32Array.of(0, 30, 90), [1, 3, 1], [1, 2])), [10, 70]);
  });

  it('grayscale then resize, from a config: uint8 in, uint8 out', () => {
    registerEnv('ScriptedRgb-v0', () => new Scripted(new Box(0, 255, [2, 2, 3], 'uint8'), [[255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100]]));
    const env = createEnv('ScriptedRgb-v0', { wrappers: [{ grayscale: true, resize: [1, 1] }, { frameStack: 2 }] });
    assert.deepEqual(env.observationSpace.shape, [1, 1, 2]);
    const obs = env.reset().obs;
    assert.ok(obs instanceof Uint8Array);
    // The mean of 76.245, 149.685, 29.07 and 100 is 88.75: 89, twice.
    assert.deepEqual(Array.from(obs), [89, 89]);
  });

  it('a bad wrapper is an EnvError naming the env, the key, the value and the rule', () => {
    assert.throws(() => createEnv('ScriptedRgb-v0', { wrappers: [{ frameStack: 0 }] }), (err: Error) => {
      assert.ok(err instanceof EnvError);
      assert.equal(err.message, 'env ScriptedRgb-v0: config.wrappers[0].frameStack (0) must be a whole number from 1 to 64');
      return true;
    });
    assert.throws(() => wrapEnv(createEnv('CartPole-v1'), [{ grayscale: true }]), /grayscale\/resize: needs uint8 pictures Box\(h, w, 3\), the env's are Box\(4\) of float32/);
    assert.throws(() => wrapEnv(createEnv('CartPole-v1'), [{ stack: 4 }]), /wrappers\[0\]: unknown key stack/);
  });
});
