import { seedStreams } from '../core/seed-streams';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GifReader } from 'omggif';
import { Box, CartPole, Discrete, Rng, TimeLimit, listEnvs, makeEnv, registerEnv, type Env, type RgbFrame } from '../envs';
import { Canvas } from '../envs/draw';
import { minatarPalette } from '../envs/minatar/render';
import { checkEnv } from '../src/check-env';
import { recordEpisodes } from '../src/record';
import { videoWriter } from '../src/video';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { constantPolicy, feedForward as spec } from './helpers/policy-fixtures';
import { progress as readProgress } from './helpers/progress';

/**
 * Gymnasium's rgb_array sizes (width x height) for its envs; the grid envs' own; MinAtar's 10 x 10
 * cells at 32 pixels (its Gymnasium rgb_array is one pixel a cell).
 */
const SIZES: Record<string, [number, number]> = {
  'CartPole-v1': [600, 400],
  'MountainCar-v0': [600, 400],
  'MountainCarContinuous-v0': [600, 400],
  'Pendulum-v1': [500, 500],
  'Acrobot-v1': [500, 500],
  'LunarLander-v3': [600, 400],
  Catch: [160, 320],
  'Snake-v0': [256, 256],
  'TicTacToe-v0': [192, 192],
  'MinAtar/Asterix-v0': [320, 320],
  'MinAtar/Breakout-v0': [320, 320],
  'MinAtar/Freeway-v0': [320, 320],
  'MinAtar/Seaquest-v0': [320, 320],
  'MinAtar/SpaceInvaders-v0': [320, 320],
};

const digest = (f: RgbFrame) => createHash('sha1').update(f.data).digest('hex');

/** The frames of a seeded episode with seeded random actions, up to `steps` steps. */
function episodeFrames(id: string, seed: number, steps: number): string[] {
  const env = makeEnv(id);
  const rng = new Rng(seed);
  env.reset({ seed });
  const frames = [digest(env.render!())];
  for (let t = 0; t < steps; t++) {
    const r = env.step(env.actionSpace.sample(rng));
    frames.push(digest(env.render!()));
    if (r.terminated || r.truncated) break;
  }
  env.close();
  return frames;
}

/** Mean x of the pixels of colour `rgb`, and their count. */
function centroidX(f: RgbFrame, rgb: [number, number, number]): { x: number; n: number } {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < f.width * f.height; i++) {
    if (f.data[i * 3] === rgb[0] && f.data[i * 3 + 1] === rgb[1] && f.data[i * 3 + 2] === rgb[2]) {
      sum += i % f.width;
      n += 1;
    }
  }
  return { x: sum / n, n };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rl-render-'));

describe('rendering', () => {
  it('every built-in env renders RGB frames of its Gymnasium size', () => {
    const registered = listEnvs().map((s) => s.id);
    for (const id of Object.keys(SIZES)) assert.ok(registered.includes(id), id);
    for (const [id, [w, h]] of Object.entries(SIZES)) {
      const env = makeEnv(id);
      env.reset({ seed: 0 });
      const f = env.render!();
      assert.deepEqual([f.width, f.height, f.data.length], [w, h, w * h * 3], id);
      assert.ok(f.data instanceof Uint8Array, id);
      assert.ok(new Set(f.data).size > 1, `${id}: the frame is not one flat colour`);
    }
  });

  it('a seeded episode renders the same frames twice, and a different seed other frames', () => {
    for (const id of Object.keys(SIZES)) {
      const a = episodeFrames(id, 3, 20);
      assert.deepEqual(episodeFrames(id, 3, 20), a, id);
      assert.ok(a.length > 1 && new Set(a).size > 1, `${id}: the frames change during the episode`);
      assert.notDeepEqual(episodeFrames(id, 4, 20), a, id);
    }
  });

  it("the pole's pixels move right when the pole leans right, and the cart's with the cart", () => {
    const env = new CartPole();
    const frameAt = (state: number[]) => {
      env.reset({ options: { state } });
      return env.render();
    };
    const pole = (f: RgbFrame) => centroidX(f, [202, 152, 101]);
    const upright = pole(frameAt([0, 0, 0, 0]));
    const leaning = pole(frameAt([0, 0, 0.2, 0]));
    assert.ok(upright.n > 500, `the pole has ${upright.n} pixels`);
    assert.ok(Math.abs(upright.x - 300) < 1, `upright pole at x ${upright.x}`);
    // The pole is 100 px long: leaning 0.2 rad, its middle is ~50 sin(0.2) ~ 10 px to the right.
    assert.ok(leaning.x - upright.x > 7 && leaning.x - upright.x < 13, `leaning pole at x ${leaning.x}`);
    const cart = (f: RgbFrame) => centroidX(f, [0, 0, 0]);
    assert.ok(cart(frameAt([1, 0, 0, 0])).x - cart(frameAt([0, 0, 0, 0])).x > 50);
  });

  it("LunarLander draws the main engine's flames once it renders", () => {
    const env = makeEnv('LunarLander-v3');
    env.reset({ seed: 0 });
    env.render!();
    const flames = (f: RgbFrame) => {
      let n = 0;
      for (let i = 0; i < f.data.length; i += 3) if (f.data[i] > 150 && f.data[i + 1] < 150 && f.data[i + 2] < 150) n += 1;
      return n;
    };
    assert.equal(flames(env.render!()), 0, 'no flames before the engine fires');
    for (let t = 0; t < 3; t++) env.step(2);
    assert.ok(flames(env.render!()) > 10, 'the main engine leaves particles');
  });

  it('the canvas fills exact pixel areas and flips rows', () => {
    const c = new Canvas(10, 8, [0, 0, 0]);
    c.rect(2, 1, 3, 2, [255, 0, 0]);
    const red = () => [...Array(80).keys()].filter((i) => c.data[i * 3] === 255);
    assert.deepEqual(red(), [12, 13, 14, 22, 23, 24]);
    c.flipVertical();
    assert.deepEqual(red(), [52, 53, 54, 62, 63, 64]);
    const d = new Canvas(21, 21, [0, 0, 0]);
    d.circle(10.5, 10.5, 5, [9, 9, 9]);
    const area = [...Array(21 * 21).keys()].filter((i) => d.data[i * 3] === 9).length;
    assert.ok(Math.abs(area - Math.PI * 25) < 8, `circle area ${area}`);
  });

  it('TimeLimit forwards render(), and has none when its env has none', () => {
    assert.equal(typeof makeEnv('CartPole-v1').render, 'function');
    const bare: Env = { observationSpace: new Box(0, 1, [1]), actionSpace: new Discrete(2), reset: () => ({ obs: Float32Array.of(0), info: {} }), step: () => ({ obs: Float32Array.of(0), reward: 0, terminated: true, truncated: false, info: {} }), close: () => {} };
    assert.equal(new TimeLimit(bare, 5).render, undefined);
  });

  it('check-env passes good frames and names a frame of the wrong size', () => {
    assert.deepEqual(checkEnv('CartPole-v1', { steps: 20, seed: 0 }).problems, []);
    registerEnv('render-test/BadFrames', () => {
      const env = new CartPole();
      return Object.assign(env, { render: () => ({ width: 4, height: 3, data: new Uint8Array(35) }) });
    });
    const r = checkEnv('render-test/BadFrames', { steps: 20, seed: 0 });
    assert.deepEqual(r.problems, ['env render-test/BadFrames: render() after reset: data must hold width x height x 3 = 36 bytes (RGB, row-major), got 35']);
  });
});

describe('videos', () => {
  it('a written GIF decodes back to its frames, one per reset and step', async () => {
    const file = path.join(tmp(), 'cartpole.gif');
    // Always pushing right: the pole falls within a few dozen steps.
    const r = await recordEpisodes({ policy: constantPolicy(1), spec, envId: 'CartPole-v1', envConfig: {}, episodes: 2, seeds: seedStreams(0).evaluation(0), deterministic: true, file });
    assert.equal(r.episodes, 2);
    assert.ok(r.lengthMean > 5 && r.lengthMean < 100, `length ${r.lengthMean}`);
    const gif = new GifReader(new Uint8Array(fs.readFileSync(file)));
    assert.equal(gif.numFrames(), r.lengthMean * 2 + 2);
    assert.equal(r.frames, gif.numFrames());
    assert.deepEqual([gif.width, gif.height], [600, 400]);
    assert.equal(gif.frameInfo(0).delay, 2); // CartPole renders at 50 fps: 2 centiseconds a frame
    // The first frame is the reset's, from the seed evaluation's first env starts from.
    const env = makeEnv('CartPole-v1');
    env.reset({ seed: seedStreams(0).evaluation(0).env(0) });
    const frame = env.render!();
    const rgba = new Uint8Array(600 * 400 * 4);
    gif.decodeAndBlitFrameRGBA(0, rgba);
    let same = 0;
    for (let i = 0; i < 600 * 400; i++) if ([0, 1, 2].every((k) => rgba[i * 4 + k] === frame.data[i * 3 + k])) same += 1;
    assert.equal(same, 600 * 400, 'the decoded first frame is the drawn one, pixel for pixel');
  });

  it("a MinAtar video through frameStack: each frame the bare game's screen at that step, in MinAtar's palette", async () => {
    const file = path.join(tmp(), 'breakout.gif');
    const seeds = seedStreams(0).evaluation(0);
    // Always right (3): the paddle sits at the right wall, and the ball gets past it within a few dozen steps.
    const r = await recordEpisodes({ policy: constantPolicy(3), spec, envId: 'MinAtar/Breakout-v0', envConfig: { wrappers: [{ frameStack: 2 }] }, episodes: 1, seeds, deterministic: true, file });
    assert.ok(r.lengthMean > 3 && r.lengthMean < 200, `length ${r.lengthMean}`);
    const gif = new GifReader(new Uint8Array(fs.readFileSync(file)));
    assert.equal(gif.numFrames(), r.lengthMean + 1);
    assert.equal(gif.frameInfo(0).delay, 5); // 20 fps
    // The same episode on the bare game (the wrapper changes observations, not the game or its seed).
    const env = makeEnv('MinAtar/Breakout-v0');
    env.reset({ seed: seeds.env(0) });
    const palette = new Set(minatarPalette(4).map((c) => c.join(',')));
    const rgba = new Uint8Array(320 * 320 * 4);
    for (let t = 0; t < gif.numFrames(); t++) {
      if (t > 0) env.step(3);
      const frame = env.render!();
      gif.decodeAndBlitFrameRGBA(t, rgba);
      let differ = 0;
      const colours = new Set<string>();
      for (let i = 0; i < 320 * 320; i++) {
        if ([0, 1, 2].some((k) => rgba[i * 4 + k] !== frame.data[i * 3 + k])) differ += 1;
        colours.add(`${rgba[i * 4]},${rgba[i * 4 + 1]},${rgba[i * 4 + 2]}`);
      }
      assert.equal(differ, 0, `frame ${t} is the game's screen`);
      assert.ok([...colours].every((c) => palette.has(c)) && colours.size >= 3, `frame ${t}: colours ${[...colours].join(' ')}`);
    }
    env.close();
  });

  it('refuses a video file that is neither .gif nor .mp4 (the .mp4 writer is tested in video-mp4.test.ts)', () => {
    assert.throws(() => videoWriter('out.avi', 30), { message: '--video out.avi: the file must end in .gif or .mp4, got ".avi"' });
  });

  it('evaluation.video writes videos/iter_NNNNNN.gif at each evaluation, and needs evaluation.every', async () => {
    const config = path.join(__dirname, '..', '..', 'configs', 'ppo-cartpole.yaml');
    assert.throws(() => loadConfig(config, ['evaluation.video=true']), { message: `--set evaluation.video=true: evaluation.video needs evaluation.every > 0` });
    const cfg = loadConfig(config, ['evaluation.every=2', 'evaluation.episodes=2', 'evaluation.video=true', 'stop.iterations=2']);
    const runDir = path.join(tmp(), 'run');
    await train(cfg, { runDir, log: () => {} });
    assert.deepEqual(fs.readdirSync(path.join(runDir, 'videos')), ['iter_000002.gif']);
    const progress = readProgress(runDir);
    const gif = new GifReader(new Uint8Array(fs.readFileSync(path.join(runDir, 'videos', 'iter_000002.gif'))));
    // One episode, from the evaluation's first env: greedy, so its length is among the evaluated ones.
    assert.ok(gif.numFrames() - 1 >= progress[1].evalReturnMin && gif.numFrames() - 1 <= progress[1].evalReturnMax, `${gif.numFrames()} frames`);
  });

  it('says so when the env has no render()', async () => {
    registerEnv('render-test/NoFrames', () => {
      const env = new CartPole() as Partial<CartPole>;
      delete (env as { render?: unknown }).render;
      return Object.assign(Object.create(null), { observationSpace: env.observationSpace, actionSpace: env.actionSpace, reset: env.reset!.bind(env), step: env.step!.bind(env), close: () => {} }) as Env;
    });
    await assert.rejects(recordEpisodes({ policy: constantPolicy(0), spec, envId: 'render-test/NoFrames', envConfig: {}, episodes: 1, seeds: seedStreams(0).evaluation(0), deterministic: true, file: path.join(tmp(), 'x.gif') }), {
      message: 'env render-test/NoFrames has no render(): a video needs the env to draw its frames (see "Rendering" in docs/writing-an-env.md)',
    });
  });
});
