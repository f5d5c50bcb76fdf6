import { strict as assert } from 'node:assert';
import { Acrobot, MountainCar, MountainCarContinuous, Pendulum, Rng, TimeLimit, envSpec, makeEnv, type Action, type Env } from '../envs';
import { angleNormalize } from '../envs/pendulum';
import { checkEnv } from '../src/check-env';
import { assertClose } from './helpers/assert-close';

// The literal numbers below come from python3 running Gymnasium's step functions
// (classic_control/*.py, copied out without rendering) under NumPy, from the same states.
const TOL = 1e-6; // observations are float32

/** The env's physical state (float64), read through getState. */
function physics(env: Env): number[] {
  return (env.getState!() as { state: number[] }).state;
}

function startAt<E extends Env>(env: E, state: number[]): E {
  env.reset({ options: { state } });
  return env;
}

const act = (u: number) => Float32Array.of(u);

describe('MountainCar-v0', () => {
  it('steps from [-0.5, 0] with actions 2 then 0 to the values worked out by hand', () => {
    const env = startAt(new MountainCar(), [-0.5, 0]);
    const first = env.step(2);
    assert.ok(first.obs instanceof Float32Array);
    assertClose(first.obs, [-0.49917683005332947, 0.0008231570245698094], TOL, 'step 1');
    assert.deepEqual([first.reward, first.terminated, first.truncated], [-1, false, false]);
    assertClose(physics(env), [-0.49917684300416926, 0.0008231569958307428], 1e-15, 'float64 state');
    assertClose(env.step(0).obs, [-0.4995366930961609, -0.00035984368878416717], TOL, 'step 2');
  });

  it('clips the velocity to [-0.07, 0.07] before moving the car', () => {
    const right = startAt(new MountainCar(), [-0.5, 0.0695]).step(2).obs; // 0.0695 + 0.001 + gravity > 0.07
    assertClose(right, [-0.43, 0.07], TOL, 'right');
    const left = startAt(new MountainCar(), [-0.5, -0.0695]).step(0).obs;
    assertClose(left, [-0.57, -0.07], TOL, 'left');
  });

  it('stops the car at the left wall: position clipped to -1.2 and a negative velocity zeroed', () => {
    const env = startAt(new MountainCar(), [-1.15, -0.06]);
    const r = env.step(0);
    assert.deepEqual(physics(env), [-1.2, 0]);
    assert.deepEqual(Array.from(r.obs), [Math.fround(-1.2), 0]);
    assert.deepEqual([r.reward, r.terminated], [-1, false]);
  });

  it('clips the position to 0.6 on the right without stopping the car', () => {
    const env = startAt(new MountainCar(), [0.59, 0.05]);
    const r = env.step(2);
    assertClose(r.obs, [0.6, 0.051494721323251724], TOL, 'obs');
    assert.equal(physics(env)[0], 0.6);
    assert.deepEqual([r.reward, r.terminated], [-1, true]);
  });

  it('terminates at position >= 0.5 with velocity >= 0, still rewarding that step -1', () => {
    const goal = startAt(new MountainCar(), [0.49, 0.02]).step(2);
    assertClose(goal.obs, [0.5107484459877014, 0.020748436450958252], TOL, 'goal');
    assert.deepEqual([goal.reward, goal.terminated, goal.truncated], [-1, true, false]);

    const short = startAt(new MountainCar(), [0.48, 0.0195]).step(1);
    assertClose(short.obs, [0.49917393922805786, 0.019173940643668175], TOL, 'short');
    assert.deepEqual([short.reward, short.terminated], [-1, false]);

    // Past the flag but rolling back: not a goal, since the velocity is negative.
    const back = startAt(new MountainCar(), [0.6, -0.001]).step(1);
    assertClose(back.obs, [0.5995680093765259, -0.00043199476203881204], TOL, 'rolling back');
    assert.equal(back.terminated, false);
  });

  it('reproduces a seeded reset, with position in [-0.6, -0.4) and velocity 0', () => {
    assert.deepEqual(Array.from(new MountainCar().reset({ seed: 7 }).obs), Array.from(new MountainCar().reset({ seed: 7 }).obs));
    assert.notDeepEqual(Array.from(new MountainCar().reset({ seed: 8 }).obs), Array.from(new MountainCar().reset({ seed: 7 }).obs));
    for (let seed = 0; seed < 200; seed++) {
      const env = new MountainCar();
      env.reset({ seed });
      const [position, velocity] = physics(env);
      assert.ok(position >= -0.6 && position < -0.4 && velocity === 0, `seed ${seed}: [${position}, ${velocity}]`);
    }
  });

  it('rejects an action outside Discrete(3), naming MountainCar-v0', () => {
    const env = startAt(new MountainCar(), [-0.5, 0]);
    assert.throws(() => env.step(3), { name: 'RangeError', message: 'MountainCar-v0: action 3 is not in Discrete(3)' });
    assert.throws(() => env.step(-1), { message: 'MountainCar-v0: action -1 is not in Discrete(3)' });
    assert.throws(() => env.step(1.5), { message: 'MountainCar-v0: action 1.5 is not in Discrete(3)' });
  });

  it('has Gymnasium’s spaces: Discrete(3) actions, positions in [-1.2, 0.6] and velocities in [-0.07, 0.07]', () => {
    const env = new MountainCar();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Discrete', n: 3 });
    assert.deepEqual(env.observationSpace.shape, [2]);
    assert.deepEqual(Array.from(env.observationSpace.low), [-1.2, -0.07].map(Math.fround));
    assert.deepEqual(Array.from(env.observationSpace.high), [0.6, 0.07].map(Math.fround));
  });
});

describe('MountainCarContinuous-v0', () => {
  it('steps from [-0.5, 0] with actions 0.5 then -0.25 to the values worked out by hand', () => {
    const env = startAt(new MountainCarContinuous(), [-0.5, 0]);
    const first = env.step(act(0.5));
    assertClose(first.obs, [-0.49942684173583984, 0.0005731569835916162], TOL, 'step 1');
    assert.deepEqual([first.reward, first.terminated, first.truncated], [-0.025, false, false]);
    const second = env.step(act(-0.25));
    assertClose(second.obs, [-0.49940982460975647, 1.702632289379835e-5], TOL, 'step 2');
    assert.equal(second.reward, -0.00625);
  });

  it('stores its state as float32 after each step, as Gymnasium does', () => {
    const env = startAt(new MountainCarContinuous(), [-0.5, 0]);
    env.step(act(0.5));
    assert.deepEqual(physics(env), [-0.49942684173583984, 0.0005731569835916162]);
    assert.ok(physics(env).every((v) => Math.fround(v) === v));
  });

  it('clips the force to [-1, 1] but charges 0.1 * action² on the action as given', () => {
    const one = startAt(new MountainCarContinuous(), [-0.5, 0]).step(act(1));
    const three = startAt(new MountainCarContinuous(), [-0.5, 0]).step(act(3));
    assertClose(three.obs, [-0.4986768364906311, 0.0013231569901108742], TOL, 'action 3');
    assert.deepEqual(Array.from(three.obs), Array.from(one.obs));
    assert.equal(one.reward, -0.1);
    assert.equal(three.reward, -0.9);
    const minusTwo = startAt(new MountainCarContinuous(), [-0.5, 0]).step(act(-2));
    assertClose(minusTwo.obs, [-0.5016768574714661, -0.001676843035966158], TOL, 'action -2');
    assert.equal(minusTwo.reward, -0.4);
  });

  it('terminates at position >= 0.45, rewarding 100 minus the action penalty', () => {
    const cases: [number, number][] = [
      [1, 99.9],
      [2, 99.6], // the force is clipped to 1, the penalty is not
      [0, 100],
    ];
    for (const [u, reward] of cases) {
      const r = startAt(new MountainCarContinuous(), [0.44, 0.02]).step(act(u));
      assert.deepEqual([r.reward, r.terminated, r.truncated], [reward, true, false], `action ${u}`);
    }
    assertClose(startAt(new MountainCarContinuous(), [0.44, 0.02]).step(act(1)).obs, [0.4608795642852783, 0.020879561081528664], TOL, 'goal');
    assertClose(startAt(new MountainCarContinuous(), [0.44, 0.02]).step(act(0)).obs, [0.45937955379486084, 0.01937956176698208], TOL, 'goal');
    // MountainCar-v0's goal of 0.5 is not this one's.
    assert.equal(startAt(new MountainCarContinuous(), [0.4, 0.02]).step(act(0)).terminated, false);
  });

  it('clips the velocity to 0.07 and stops the car at the left wall', () => {
    assertClose(startAt(new MountainCarContinuous(), [-0.5, 0.0695]).step(act(1)).obs, [-0.43, 0.07], TOL, 'velocity clip');
    const env = startAt(new MountainCarContinuous(), [-1.15, -0.06]);
    const r = env.step(act(-1));
    assert.deepEqual(Array.from(r.obs), [Math.fround(-1.2), 0]);
    assert.deepEqual([r.reward, r.terminated], [-0.1, false]);
  });

  it('reproduces a seeded reset, with position in [-0.6, -0.4) and velocity 0', () => {
    assert.deepEqual(Array.from(new MountainCarContinuous().reset({ seed: 3 }).obs), Array.from(new MountainCarContinuous().reset({ seed: 3 }).obs));
    for (let seed = 0; seed < 200; seed++) {
      const env = new MountainCarContinuous();
      env.reset({ seed });
      const [position, velocity] = physics(env);
      assert.ok(position >= -0.6 && position < -0.4 && velocity === 0, `seed ${seed}: [${position}, ${velocity}]`);
    }
  });

  it('rejects an action that is not one finite number in a Float32Array, naming MountainCarContinuous-v0', () => {
    const env = startAt(new MountainCarContinuous(), [-0.5, 0]);
    const message = (got: string) => `MountainCarContinuous-v0: action must be a Float32Array of 1 finite number(s) for Box(shape=[1]), got ${got}`;
    assert.throws(() => env.step(0.5), { name: 'RangeError', message: message('0.5') });
    assert.throws(() => env.step(Float32Array.of(NaN)), { message: message('[NaN]') });
    assert.throws(() => env.step(Float32Array.of(0, 1)), { message: message('[0, 1]') });
    assert.throws(() => env.step([0.5] as unknown as Action), { message: message('[0.5]') });
  });

  it('has Gymnasium’s spaces: a Box(-1, 1, [1]) action and MountainCar’s observation box', () => {
    const env = new MountainCarContinuous();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Box', shape: [1], low: [-1], high: [1] });
    assert.deepEqual(env.observationSpace.shape, [2]);
    assert.deepEqual(Array.from(env.observationSpace.low), [-1.2, -0.07].map(Math.fround));
    assert.deepEqual(Array.from(env.observationSpace.high), [0.6, 0.07].map(Math.fround));
  });
});

describe('Pendulum-v1', () => {
  it('steps from [1, 0.5] with torques 1 then -0.5 to the values worked out by hand', () => {
    const env = startAt(new Pendulum(), [1, 0.5]);
    const first = env.step(act(1));
    assertClose(first.obs, [0.4853305220603943, 0.8743307590484619, 1.281103253364563], TOL, 'step 1');
    assert.ok(Math.abs(first.reward - -1.0260000000474974) < TOL, `reward ${first.reward}`);
    assert.deepEqual([first.terminated, first.truncated], [false, false]);
    // Semi-implicit Euler: θ moves by the new θ̇.
    assertClose(physics(env), [1.064055161930296, 1.2811032386059225], 1e-7, 'state');
    const second = env.step(act(-0.5));
    assertClose(second.obs, [0.401952862739563, 0.9156603813171387, 1.8618513345718384], TOL, 'step 2');
    assert.ok(Math.abs(second.reward - -1.2965859384390421) < TOL, `reward ${second.reward}`);
  });

  it('normalizes the angle in the reward with Python’s modulo, also for negative angles', () => {
    const cases: [number[], number][] = [
      [[-4, 0], -5.212935146920741], // angle -4 + 2π
      [[3.5, 0], -7.7461204541003275], // angle 3.5 - 2π
      [[-7.5, 1], -1.580637996663638], // angle -7.5 + 2π, and 0.1 θ̇²
    ];
    for (const [state, reward] of cases) {
      const r = startAt(new Pendulum(), state).step(act(0));
      assert.ok(Math.abs(r.reward - reward) < 1e-9, `from [${state}]: reward ${r.reward} vs ${reward}`);
    }
    assertClose(startAt(new Pendulum(), [-4, 0]).step(act(0)).obs, [-0.674855649471283, 0.737949788570404, 0.5676018595695496], TOL, 'obs');
    const normalized = [-4, 3.5, -7.5, 10, 0, -Math.PI, Math.PI].map(angleNormalize);
    assertClose(normalized, [2.2831853071795862, -2.7831853071795862, -1.2168146928204138, -2.5663706143591725, 0, -Math.PI, -Math.PI], 1e-12, 'angleNormalize');
  });

  it('clips the angular velocity to [-8, 8] before moving the angle', () => {
    const env = startAt(new Pendulum(), [Math.PI / 2, 7.9]);
    const up = env.step(act(2)); // 7.9 + (15 + 6) * 0.05 = 8.95
    assertClose(up.obs, [-0.3894183337688446, 0.9210609793663025, 8], TOL, 'positive');
    assert.deepEqual(physics(env), [Math.PI / 2 + 0.4, 8]);
    assert.ok(Math.abs(up.reward - -8.71240110046233) < TOL, `reward ${up.reward}`);
    const down = startAt(new Pendulum(), [-Math.PI / 2, -7.9]).step(act(-2));
    assertClose(down.obs, [-0.3894183337688446, -0.9210609793663025, -8], TOL, 'negative');
  });

  it('clips the torque to [-2, 2], for the dynamics and the reward alike', () => {
    const five = startAt(new Pendulum(), [0.3, -0.2]).step(act(5));
    const two = startAt(new Pendulum(), [0.3, -0.2]).step(act(2));
    assertClose(five.obs, [0.9504606127738953, 0.3108450472354889, 0.32164016366004944], TOL, 'obs');
    assert.deepEqual(Array.from(five.obs), Array.from(two.obs));
    assert.equal(five.reward, two.reward);
    assert.ok(Math.abs(five.reward - -(0.09 + 0.004 + 0.004)) < 1e-9, `reward ${five.reward}`);
  });

  it('never terminates: the time limit ends its episodes', () => {
    const env = startAt(new Pendulum(), [Math.PI, 0]);
    for (let t = 0; t < 300; t++) assert.equal(env.step(act(t % 2 === 0 ? 2 : -2)).terminated, false);
  });

  it('reproduces a seeded reset, with θ in [-π, π) and θ̇ in [-1, 1)', () => {
    assert.deepEqual(Array.from(new Pendulum().reset({ seed: 11 }).obs), Array.from(new Pendulum().reset({ seed: 11 }).obs));
    for (let seed = 0; seed < 200; seed++) {
      const env = new Pendulum();
      const { obs } = env.reset({ seed });
      const [th, thdot] = physics(env);
      assert.ok(th >= -Math.PI && th < Math.PI && thdot >= -1 && thdot < 1, `seed ${seed}: [${th}, ${thdot}]`);
      assertClose(obs, [Math.cos(th), Math.sin(th), thdot], TOL, `seed ${seed}`);
    }
  });

  it('rejects an action that is not one finite number in a Float32Array, naming Pendulum-v1', () => {
    const env = startAt(new Pendulum(), [0, 0]);
    assert.throws(() => env.step(1), { name: 'RangeError', message: 'Pendulum-v1: action must be a Float32Array of 1 finite number(s) for Box(shape=[1]), got 1' });
    assert.throws(() => env.step(Float32Array.of(Infinity)), { message: 'Pendulum-v1: action must be a Float32Array of 1 finite number(s) for Box(shape=[1]), got [Infinity]' });
  });

  it('has Gymnasium’s spaces: a Box(-2, 2, [1]) torque and observations in [-1, 1] x [-1, 1] x [-8, 8]', () => {
    const env = new Pendulum();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Box', shape: [1], low: [-2], high: [2] });
    assert.deepEqual(env.observationSpace.toSpec(), { type: 'Box', shape: [3], low: [-1, -1, -8], high: [1, 1, 8] });
  });
});

describe('Acrobot-v1', () => {
  it('steps from [0.05, -0.03, 0.1, -0.2] with actions 2 then 0 to the values worked out by hand', () => {
    const env = startAt(new Acrobot(), [0.05, -0.03, 0.1, -0.2]);
    const first = env.step(2);
    assertClose(first.obs, [0.9987978339195251, 0.04901905357837677, 0.9996620416641235, -0.025997115299105644, -0.10899607837200165, 0.23861151933670044], TOL, 'step 1');
    assert.deepEqual([first.reward, first.terminated, first.truncated], [-1, false, false]);
    assertClose(physics(env), [0.04903870635826079, -0.02600004511990665, -0.10899607843931322, 0.2386115189039908], 1e-12, 'float64 state');
    const second = env.step(0);
    assertClose(second.obs, [0.9993777871131897, 0.03527113050222397, 0.999970018863678, -0.007744526024907827, -0.02540106140077114, -0.061013784259557724], TOL, 'step 2');
  });

  it('applies no torque for action 1', () => {
    const { obs } = startAt(new Acrobot(), [0.05, -0.03, 0.1, -0.2]).step(1);
    assertClose(obs, [0.9980601668357849, 0.06225688010454178, 0.9981838464736938, -0.060240961611270905, 0.019654948264360428, -0.09586656093597412], TOL, 'obs');
  });

  it('wraps the angles into [-π, π] after integrating', () => {
    const env = startAt(new Acrobot(), [3.1, 0, 2, 0]); // θ1 goes past π
    const r = env.step(1);
    assertClose(physics(env), [-2.7719362846676403, -0.008629148029294374, 2.1972583347367203, -0.1521741621389046], 1e-12, 'state');
    assertClose(r.obs, [-0.9324515461921692, -0.36129504442214966, 0.9999627470970154, -0.00862904079258442, 2.197258234024048, -0.15217415988445282], TOL, 'obs');
    const mirrored = startAt(new Acrobot(), [-3.1, 0, -2, 0]);
    mirrored.step(1);
    assertClose(physics(mirrored), [2.7719362846676403, 0.008629148029294318, -2.19725833473672, 0.15217416213890414], 1e-12, 'mirrored');
  });

  it('bounds the velocities to ±4π and ±9π after integrating', () => {
    const first = startAt(new Acrobot(), [-2.5, 0, 12.5, 0]); // θ̇1 reaches 13.09
    const r1 = first.step(2);
    assert.equal(physics(first)[2], 4 * Math.PI);
    assert.equal(r1.obs[4], Math.fround(4 * Math.PI));
    assertClose(r1.obs, [0.9963729381561279, 0.08509385585784912, 0.999448835849762, -0.03319650515913963, 12.566370964050293, 0.07807128131389618], TOL, 'θ̇1 bounded');

    const second = startAt(new Acrobot(), [0, 1.5, 0, 28]); // θ̇2 reaches 48.3 and θ2 6.28, wrapped
    const r2 = second.step(1);
    assert.equal(physics(second)[3], 9 * Math.PI);
    assertClose(physics(second), [1.4571872239836599, -0.006553754967854708, 1.5633638148987672, 9 * Math.PI], 1e-12, 'θ̇2 bounded');
    assertClose(r2.obs, [0.11336486786603928, 0.9935534000396729, 0.9999785423278809, -0.0065537081100046635, 1.563363790512085, 28.274333953857422], TOL, 'obs');
  });

  it('terminates when the free end rises above 1, with reward 0 on that step and -1 before', () => {
    const above = startAt(new Acrobot(), [2.2, 0, 0, 0]).step(1); // height 1.073 after the step
    assertClose(above.obs, [-0.5032890439033508, 0.8641180992126465, 0.9968870878219604, 0.0788426473736763, -1.0304068326950073, 0.8034828901290894], TOL, 'above');
    assert.deepEqual([above.reward, above.terminated, above.truncated], [0, true, false]);
    const below = startAt(new Acrobot(), [2.15, 0, 0, 0]).step(1); // height 0.984
    assert.deepEqual([below.reward, below.terminated], [-1, false]);
    const upright = startAt(new Acrobot(), [Math.PI, 0, 0, 0]).step(1);
    assert.deepEqual([upright.reward, upright.terminated], [0, true]);
    const horizontal = startAt(new Acrobot(), [Math.PI / 2, 0, 0, 0]).step(1);
    assert.deepEqual([horizontal.reward, horizontal.terminated], [-1, false]);
  });

  it('reproduces a seeded reset, drawing each component in [-0.1, 0.1) and storing it as float32', () => {
    assert.deepEqual(Array.from(new Acrobot().reset({ seed: 5 }).obs), Array.from(new Acrobot().reset({ seed: 5 }).obs));
    for (let seed = 0; seed < 200; seed++) {
      const env = new Acrobot();
      const { obs } = env.reset({ seed });
      const state = physics(env);
      assert.ok(state.every((v) => v >= -0.1 && v <= 0.1 && Math.fround(v) === v), `seed ${seed}: [${state}]`);
      assertClose(obs, [Math.cos(state[0]), Math.sin(state[0]), Math.cos(state[1]), Math.sin(state[1]), state[2], state[3]], TOL, `seed ${seed}`);
    }
  });

  it('rejects an action outside Discrete(3), naming Acrobot-v1', () => {
    const env = startAt(new Acrobot(), [0, 0, 0, 0]);
    assert.throws(() => env.step(3), { name: 'RangeError', message: 'Acrobot-v1: action 3 is not in Discrete(3)' });
    assert.throws(() => env.step(Float32Array.of(1)), { message: 'Acrobot-v1: action 1 is not in Discrete(3)' });
  });

  it('rejects an options.state that is not four finite numbers', () => {
    assert.throws(() => new Acrobot().reset({ options: { state: [0, 0] } }), {
      name: 'RangeError',
      message: 'Acrobot-v1: reset options.state must be 4 finite numbers, got [0,0]',
    });
  });

  it('has Gymnasium’s spaces: Discrete(3) actions and [cos, sin, cos, sin] in [-1, 1] with velocities to 4π and 9π', () => {
    const env = new Acrobot();
    assert.deepEqual(env.actionSpace.toSpec(), { type: 'Discrete', n: 3 });
    assert.deepEqual(env.observationSpace.shape, [6]);
    assert.deepEqual(Array.from(env.observationSpace.high), [1, 1, 1, 1, 4 * Math.PI, 9 * Math.PI].map(Math.fround));
    assert.deepEqual(Array.from(env.observationSpace.low), [-1, -1, -1, -1, -4 * Math.PI, -9 * Math.PI].map(Math.fround));
  });
});

describe('classic-control registry', () => {
  // The id, its limit and threshold, a start state that does not end the episode, and an action.
  const table: { id: string; maxEpisodeSteps: number; rewardThreshold: number | undefined; state: number[]; action: Action; cls: new () => Env }[] = [
    { id: 'MountainCar-v0', maxEpisodeSteps: 200, rewardThreshold: -110, state: [-0.5, 0], action: 1, cls: MountainCar },
    { id: 'MountainCarContinuous-v0', maxEpisodeSteps: 999, rewardThreshold: 90, state: [-0.5, 0], action: act(0), cls: MountainCarContinuous },
    { id: 'Pendulum-v1', maxEpisodeSteps: 200, rewardThreshold: undefined, state: [Math.PI, 0], action: act(0.5), cls: Pendulum },
    { id: 'Acrobot-v1', maxEpisodeSteps: 500, rewardThreshold: -100, state: [0, 0, 0, 0], action: 1, cls: Acrobot },
  ];

  for (const { id, maxEpisodeSteps, rewardThreshold, state, action, cls } of table) {
    it(`registers ${id} with a ${maxEpisodeSteps}-step limit and a reward threshold of ${rewardThreshold ?? 'none'}`, () => {
      const spec = envSpec(id);
      assert.equal(spec.maxEpisodeSteps, maxEpisodeSteps);
      assert.equal(spec.rewardThreshold, rewardThreshold);
      const env = makeEnv(id);
      assert.ok(env instanceof TimeLimit && env.env instanceof cls);
    });

    it(`truncates ${id} from makeEnv at step ${maxEpisodeSteps} exactly`, () => {
      const env = makeEnv(id);
      env.reset({ options: { state } });
      for (let step = 1; step <= maxEpisodeSteps; step++) {
        const r = env.step(action);
        assert.equal(r.terminated, false, `terminated at step ${step}`);
        assert.equal(r.truncated, step === maxEpisodeSteps, `truncated at step ${step}`);
      }
    });

    it(`passes rl check-env for ${id}`, () => {
      assert.deepEqual(checkEnv(id, { steps: 500, seed: 0 }).problems, []);
    });

    it(`resumes ${id} on the exact trajectory from getState`, () => {
      const env = new cls();
      env.reset({ seed: 21 });
      const rng = new Rng(0);
      for (let t = 0; t < 5; t++) env.step(env.actionSpace.sample(rng));
      const saved = JSON.parse(JSON.stringify(env.getState!()));
      const next = () => [env.reset().obs, env.step(action).obs].map((o) => Array.from(o));
      const expected = next();
      env.setState!(saved);
      assert.deepEqual(next(), expected);
    });
  }
});
