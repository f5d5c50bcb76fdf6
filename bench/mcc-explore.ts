import { makeEnv, Rng } from '../envs';

/**
 * `node dist/bench/run.js mcc-explore`: why SAC has `noiseRepeat`. On MountainCarContinuous-v0
 * (999 steps an episode), random actions uniform in [-1, 1], as the warm-up acts, each held
 * for `hold` steps and drawn anew at each episode's start: how many of 100 episodes (env seeds
 * 0-99, actions from Rng(0)) reach the flag, and in how many steps (median of those that do),
 * for hold 1 (a fresh draw each step, SAC's own), 8, 16 and 32 (sac-mountaincar-continuous.yaml's).
 */
export function mccExplore(): void {
  console.log('\n== MountainCarContinuous-v0: random actions held for k steps (100 episodes of 999 steps) ==');
  for (const hold of [1, 8, 16, 32]) {
    const env = makeEnv('MountainCarContinuous-v0');
    const rng = new Rng(0);
    const reached: number[] = [];
    for (let episode = 0; episode < 100; episode++) {
      env.reset({ seed: episode });
      let action = 0;
      for (let t = 0; ; t++) {
        if (t % hold === 0) action = rng.uniform(-1, 1);
        const r = env.step(Float32Array.of(action));
        if (r.terminated) reached.push(t + 1);
        if (r.terminated || r.truncated) break;
      }
    }
    env.close();
    const steps = reached.sort((a, b) => a - b)[Math.floor(reached.length / 2)];
    console.log(`hold ${String(hold).padStart(2)}: reach the flag in ${String(reached.length).padStart(3)} of 100 episodes${reached.length ? ` (median ${steps} steps)` : ''}`);
  }
}
