import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, envSpec, makeEnv, type Env } from '../envs';
import { MinAtarEnv } from '../envs/minatar';
import { TimeLimit } from '../envs/time-limit';
import { minatarPalette } from '../envs/minatar/render';
import type { SpaceInvadersState } from '../envs/minatar/space-invaders';
import { checkEnv } from '../src/check-env';
import { EnvError } from '../core/errors';

const GAMES = ['Asterix', 'Breakout', 'Freeway', 'Seaquest', 'SpaceInvaders'];
const CHANNELS = [4, 4, 7, 10, 6];

interface Figure {
  mean: number;
  std: number;
  se: number;
}

/** test/fixtures/minatar/reference.json: what the reference MinAtar does (see reference.py there). */
interface Reference {
  episodes: number;
  stats: Record<string, { return: Figure; length: Figure }>;
  traces: Record<string, { draws: number[]; steps: string[] }>;
}

const reference = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'minatar', 'reference.json'), 'utf8')) as Reference;

/** A generator that hands out recorded uniforms k / 2^32, as reference.py's scripted one does. */
class ScriptedRng extends Rng {
  used = 0;

  constructor(private readonly draws: readonly number[]) {
    super(0);
  }

  override random(): number {
    if (this.used >= this.draws.length) throw new Error(`the game drew more than the reference's ${this.draws.length} uniforms`);
    return this.draws[this.used++] / 2 ** 32;
  }
}

const digest = (obs: Uint8Array) => createHash('sha1').update(obs).digest('hex').slice(0, 8);

/** The lit cells of `channel` in a 10 x 10 x `n` observation, as [x, y] (column, row). */
function lit(obs: Uint8Array, n: number, channel: number): [number, number][] {
  const cells: [number, number][] = [];
  for (let i = 0; i < 100; i++) if (obs[i * n + channel]) cells.push([i % 10, Math.floor(i / 10)]);
  return cells;
}

/** Mean and standard error of the mean. */
function meanSe(xs: number[]): { mean: number; se: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(variance / xs.length) };
}

/** The MinAtarEnv inside the registration's TimeLimit. */
function bareGame(id: string, config: Record<string, unknown> = {}): MinAtarEnv {
  return (makeEnv(id, config) as TimeLimit).env as MinAtarEnv;
}

describe('MinAtar', () => {
  it('has six actions, 10 x 10 x n uint8 observations in the reference\'s channel order, a 10,000-step limit, and checks its config', () => {
    GAMES.forEach((game, i) => {
      const id = `MinAtar/${game}-v0`;
      const env = makeEnv(id);
      assert.ok(env instanceof TimeLimit && env.env instanceof MinAtarEnv && env.maxEpisodeSteps === 10_000, `${id}: a MinAtarEnv in a 10,000-step TimeLimit`);
      assert.equal(envSpec(id).maxEpisodeSteps, 10_000);
      assert.equal(env.actionSpace.toString(), 'Discrete(6)');
      assert.equal(env.observationSpace.toString(), `Box(shape=[10,10,${CHANNELS[i]}], uint8)`);
      assert.ok(env.observationSpace.low.every((v) => v === 0) && env.observationSpace.high.every((v) => v === 1));
      assert.ok(env.reset({ seed: 0 }).obs instanceof Uint8Array);
    });
    assert.deepEqual(bareGame('MinAtar/Seaquest-v0').channels, ['sub_front', 'sub_back', 'friendly_bullet', 'trail', 'enemy_bullet', 'enemy_fish', 'enemy_sub', 'oxygen_guage', 'diver_guage', 'diver']);
    const bad = (config: Record<string, unknown>, message: string) =>
      assert.throws(() => makeEnv('MinAtar/Breakout-v0', config), (err: Error) => err instanceof EnvError && err.message === message);
    bad({ stickyActionProb: 1.5 }, 'MinAtar/Breakout-v0: config.stickyActionProb must be a number from 0 to 1, got 1.5');
    bad({ difficultyRamping: 'yes' }, 'MinAtar/Breakout-v0: config.difficultyRamping must be true or false, got "yes"');
    bad({ stickyActionProbability: 0 }, 'MinAtar/Breakout-v0: unknown config key "stickyActionProbability"; did you mean "stickyActionProb"? Known keys: stickyActionProb, difficultyRamping');
    assert.throws(() => makeEnv('MinAtar/Breakout-v0').step(0), /MinAtar\/Breakout-v0: step\(\) called before reset\(\)/);
    assert.throws(() => makeEnv('MinAtar/Breakout-v0').step(6), /action 6 is not in Discrete\(6\)/);
  });

  it('-v1 takes only the game\'s minimal action set, and plays as -v0 given the same game actions (the sticky one included)', () => {
    const minimal: Record<string, number[]> = { Asterix: [0, 1, 2, 3, 4], Breakout: [0, 1, 3], Freeway: [0, 2, 4], Seaquest: [0, 1, 2, 3, 4, 5], SpaceInvaders: [0, 1, 3, 5] };
    for (const game of GAMES) {
      const full = makeEnv(`MinAtar/${game}-v0`);
      const small = makeEnv(`MinAtar/${game}-v1`);
      assert.equal(small.actionSpace.toString(), `Discrete(${minimal[game].length})`, game);
      const rng = new Rng(7);
      let [a, b] = [full.reset({ seed: 3 }).obs as Uint8Array, small.reset({ seed: 3 }).obs as Uint8Array];
      for (let t = 0; t < 300; t++) {
        assert.deepEqual(b, a, `${game}, step ${t}`);
        const i = rng.int(minimal[game].length);
        const [x, y] = [full.step(minimal[game][i]), small.step(i)];
        assert.deepEqual([y.reward, y.terminated, y.truncated], [x.reward, x.terminated, x.truncated], `${game}, step ${t}`);
        [a, b] = [x.obs as Uint8Array, y.obs as Uint8Array];
        if (x.terminated) [a, b] = [full.reset().obs as Uint8Array, small.reset().obs as Uint8Array];
      }
    }
    assert.throws(() => { const e = makeEnv('MinAtar/Breakout-v1'); e.reset({ seed: 0 }); e.step(3); }, { message: 'MinAtar/Breakout-v1: action 3 is not in Discrete(3) (0 no-op, 1 left, 2 right)' });
  });

  it('Breakout: a seeded episode bounces off the paddle and the wall, breaks a brick for +1, and ends when the ball passes the paddle', () => {
    const env = makeEnv('MinAtar/Breakout-v0', { stickyActionProb: 0 });
    const start = env.reset({ seed: 1 }).obs as Uint8Array;
    // Seed 1 starts the ball at the left wall, row 3, heading down-right; the paddle is at column 4.
    assert.deepEqual(lit(start, 4, 1), [[0, 3]]);
    assert.deepEqual(lit(start, 4, 0), [[4, 9]]);
    assert.equal(lit(start, 4, 3).length, 30);
    // One step right puts the paddle at 5, under the ball's column when it reaches row 8 (step 5).
    const actions = [3, ...Array<number>(15).fill(0)];
    const expected: [number, number][] = [
      [1, 4], [2, 5], [3, 6], [4, 7], [5, 8],
      [6, 8], // off the paddle's middle: back up the other way (up-right), staying on row 8
      [7, 7], [8, 6], [9, 5],
      [9, 4], // off the right wall: the column is held, now up-left
      [8, 4], // into the brick at (8, 3): it breaks, +1, and the ball turns back down-left on its row
      [7, 5], [6, 6], [5, 7], [4, 8],
      [3, 9], // the paddle is at 5: the ball passes it and the episode ends
    ];
    const rewards = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    actions.forEach((a, t) => {
      const r = env.step(a);
      const obs = r.obs as Uint8Array;
      assert.deepEqual(lit(obs, 4, 1), [expected[t]], `ball after step ${t + 1}`);
      assert.equal(r.reward, rewards[t], `reward of step ${t + 1}`);
      assert.equal(r.terminated, t === 15, `terminated after step ${t + 1}`);
      assert.deepEqual(lit(obs, 4, 0), [[5, 9]], `paddle after step ${t + 1}`);
      if (t === 10) {
        assert.deepEqual(lit(obs, 4, 2), [[9, 4]], 'the trail is where the ball was');
        assert.equal(lit(obs, 4, 3).length, 29);
        assert.ok(!lit(obs, 4, 3).some(([x, y]) => x === 8 && y === 3), 'the brick at (8, 3) is gone');
      }
    });
    assert.throws(() => env.step(0), /after the episode terminated/);
  });

  it('sticky actions repeat the previous action: at probability 1 the paddle never leaves column 4', () => {
    const env = makeEnv('MinAtar/Breakout-v0', { stickyActionProb: 1 });
    let obs = env.reset({ seed: 1 }).obs as Uint8Array;
    for (let t = 0; t < 5; t++) obs = env.step(t % 2 ? 1 : 3).obs as Uint8Array;
    assert.deepEqual(lit(obs, 4, 0), [[4, 9]]);
  });

  it('SpaceInvaders: shooting the last alien pays +1 and brings a new wave, faster only with the difficulty ramp', () => {
    for (const ramping of [true, false]) {
      const env = bareGame('MinAtar/SpaceInvaders-v0', { stickyActionProb: 0, difficultyRamping: ramping });
      env.reset({ seed: 0 });
      const saved = env.getState!() as { game: SpaceInvadersState };
      // One alien left at row 7, column 5, and a bullet at row 8 under it: the bullet rises into it this step.
      saved.game.aliens = saved.game.aliens.map((_, i) => (i === 7 * 10 + 5 ? 1 : 0));
      saved.game.friendlyBullets = saved.game.friendlyBullets.map((_, i) => (i === 8 * 10 + 5 ? 1 : 0));
      env.setState!(saved);
      const r = env.step(0);
      assert.equal(r.reward, 1);
      const obs = r.obs as Uint8Array;
      assert.equal(lit(obs, 6, 1).length, 24, 'a new 4 x 6 wave');
      assert.deepEqual(lit(obs, 6, 4), [], 'the bullet is spent');
      assert.equal((env.getState!() as { game: SpaceInvadersState }).game.enemyMoveInterval, ramping ? 11 : 12);
    }
  });

  it('resumes the exact trajectory from getState()', () => {
    for (const game of GAMES) {
      const env = makeEnv(`MinAtar/${game}-v0`);
      const rng = new Rng(5);
      const run = (steps: number) => {
        const out: string[] = [];
        for (let t = 0; t < steps; t++) {
          const r = env.step(rng.int(6));
          out.push(`${r.reward} ${r.terminated} ${digest(r.obs as Uint8Array)}`);
          if (r.terminated) env.reset();
        }
        return out;
      };
      env.reset({ seed: 9 });
      run(40);
      const saved = structuredClone(env.getState!());
      const rngSaved = rng.getState();
      const first = run(200);
      env.setState!(saved);
      rng.setState(rngSaved);
      assert.deepEqual(run(200), first, game);
    }
  });

  it('passes rl check-env, every game', () => {
    for (const game of GAMES) assert.deepEqual(checkEnv(`MinAtar/${game}-v0`, { steps: 300, seed: 0 }).problems, [], game);
  });

  it("draws each cell in the GUI's cubehelix colour of its highest lit channel, on black", () => {
    // Breakout has 4 channels: seaborn samples the map at 1/5 .. 4/5, table entries 51, 102, 153, 204 = x 0.2, 0.4, 0.6, 0.8.
    // At x = 0.2: amplitude 0.2 * 0.8 / 2 = 0.08, phi = 2 pi (1/6 - 0.3) = -0.8378, cos 0.6691, sin -0.7431;
    // red 0.2 + 0.08 (-0.14861 * 0.6691 + 1.78277 * -0.7431) = 0.0861 -> 21; green 0.2382 -> 60; blue 0.3056 -> 77.
    const palette = minatarPalette(4);
    assert.deepEqual(palette[0], [0, 0, 0]);
    assert.deepEqual(palette[1], [21, 60, 77]);
    assert.equal(new Set(palette.map((c) => c.join())).size, 5);
    const env = makeEnv('MinAtar/Breakout-v0');
    env.reset({ seed: 1 });
    const f = env.render!();
    assert.deepEqual([f.width, f.height], [320, 320]);
    const pixel = (x: number, y: number) => [...f.data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3)];
    assert.deepEqual(pixel(4 * 32 + 16, 9 * 32 + 16), [...palette[1]], 'the paddle, channel 0');
    assert.deepEqual(pixel(0 * 32 + 16, 3 * 32 + 16), [...palette[4]], 'the ball over a brick: the brick, channel 3, is drawn');
    assert.deepEqual(pixel(5 * 32 + 16, 6 * 32 + 16), [0, 0, 0], 'an empty cell');
  });

  it("a uniform-random policy's mean return and episode length over 1,000 episodes agree with the reference's within 3 standard errors", () => {
    // The two means are independent estimates; their difference has standard error sqrt(se1^2 + se2^2).
    // If the games are the same, |difference| > 3 of those happens with probability 0.27% a figure
    // (2.7% for the ten), while a rule that moves a figure by more than a few percent shows.
    const episodes = reference.episodes;
    for (const game of GAMES) {
      const env: Env = makeEnv(`MinAtar/${game}-v0`);
      const actions = new Rng(2);
      const returns: number[] = [];
      const lengths: number[] = [];
      env.reset({ seed: 1 });
      for (let e = 0; e < episodes; e++) {
        if (e > 0) env.reset();
        let total = 0;
        let steps = 0;
        for (let done = false; !done; steps++) {
          const r = env.step(actions.int(6));
          total += r.reward;
          done = r.terminated || r.truncated;
        }
        returns.push(total);
        lengths.push(steps);
      }
      const ref = reference.stats[game];
      for (const [name, xs, theirs] of [['return', returns, ref.return], ['length', lengths, ref.length]] as const) {
        const ours = meanSe(xs);
        const bound = 3 * Math.hypot(ours.se, theirs.se);
        assert.ok(Math.abs(ours.mean - theirs.mean) <= bound, `${game} ${name}: ours ${ours.mean.toFixed(3)} +- ${ours.se.toFixed(3)}, reference ${theirs.mean.toFixed(3)} +- ${theirs.se.toFixed(3)}`);
      }
    }
  });

  it('plays the reference\'s frames, given its uniforms and actions', () => {
    for (const game of GAMES) {
      const env = bareGame(`MinAtar/${game}-v0`);
      const { draws, steps } = reference.traces[game];
      const rng = new ScriptedRng(draws);
      (env as unknown as { rng: Rng }).rng = rng;
      for (let i = 0; i < steps.length; i++) {
        const first = steps[i].split(' ')[0];
        let line: string;
        if (first === 'reset') line = `reset ${digest(env.reset().obs as Uint8Array)}`;
        else {
          const r = env.step(Number(first));
          line = `${first} ${r.reward} ${r.terminated ? 1 : 0} ${digest(r.obs as Uint8Array)}`;
        }
        assert.equal(line, steps[i], `${game}: line ${i} of the trace (after ${rng.used} draws)`);
      }
      assert.equal(rng.used, draws.length, `${game}: draws used`);
    }
  });
});
