/**
 * Part of `node dist/bench/run.js compute` (issue 26): what a recurrent policy costs per env step
 * against the same config without `model.recurrent`. configs/ppo-lstm-cartpole-novel.yaml as
 * shipped (LSTM 64, then [64] relu; 8 envs x 32 steps a batch, 20 epochs of one 256-row
 * minibatch), and again with the LSTM taken out: one batch each sampled in this process by the
 * untrained policy (short episodes: resets inside the sequences), then `Ppo.update` on it and
 * `act()` for the 8 envs, timed in turn round by round. CPU time per env step, medians over the
 * rounds; the ratios are the figures the issue asks for.
 */
import * as path from 'node:path';
import type { Algorithm, PolicySpec, SamplingPolicy, TrajectoryBatch } from '../core/algorithm';
import { ppo, type PpoConfig } from '../algorithms/ppo/ppo';
import { makeEnv, Rng } from '../envs';
import { loadConfig } from '../src/config/load';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { median } from './bench-json';

const CONFIG = path.resolve(__dirname, '..', '..', 'configs', 'ppo-lstm-cartpole-novel.yaml');
const ROUNDS = 5;

interface Side {
  algorithm: Algorithm;
  worker: RolloutWorker;
  policy: SamplingPolicy;
  spec: PolicySpec;
  batch: TrajectoryBatch;
  obs: Float32Array;
}

function side(recurrent: boolean): Side {
  const cfg = loadConfig(CONFIG);
  const model = recurrent ? cfg.model : { ...cfg.model, recurrent: undefined };
  const env = makeEnv(cfg.env.id);
  const numEnvs = cfg.workers.envsPerWorker;
  const rolloutLength = cfg.workers.rolloutLength;
  const opts = { config: cfg.ppo as PpoConfig, model, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), actionMask: false, policyId: 'default', seed: 0, totalEnvs: numEnvs, rolloutLength, totalEnvSteps: cfg.stop.envSteps };
  const algorithm = ppo.create(opts);
  const spec = ppo.policySpec(opts);
  const policy = ppo.createPolicy(spec);
  policy.setParams(algorithm.getParams().default);
  const worker = new RolloutWorker({ workerId: 0, envId: cfg.env.id, envConfig: cfg.env.config, numEnvs, rolloutLength, seed: 0, policy, spec });
  const batch = worker.sample();
  const obsSize = batch.obs.length / (numEnvs * rolloutLength);
  return { algorithm, worker, policy, spec, batch, obs: batch.obs.subarray(0, numEnvs * obsSize) as Float32Array }; // the first step's observations
}

/** CPU milliseconds of `run` (awaited). */
async function cpuOf(run: () => unknown): Promise<number> {
  const start = process.cpuUsage();
  await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export interface RecurrentCost {
  /** Microseconds of CPU per env step, medians: the update and act(), recurrent and feed-forward. */
  update: { recurrent: number; feedForward: number; ratio: number };
  act: { recurrent: number; feedForward: number; ratio: number };
  episodeEnds: number;
}

export async function recurrentCost(): Promise<RecurrentCost> {
  const sides = { recurrent: side(true), feedForward: side(false) };
  const times = { recurrent: { update: [] as number[], act: [] as number[] }, feedForward: { update: [] as number[], act: [] as number[] } };
  const ctx = { envSteps: 1000, policyVersion: 1 };
  for (let r = 0; r <= ROUNDS; r++) {
    const order = (r % 2 === 0 ? ['recurrent', 'feedForward'] : ['feedForward', 'recurrent']) as (keyof typeof sides)[];
    for (const k of order) {
      const s = sides[k];
      const steps = s.batch.numEnvs * s.batch.length;
      const update = await cpuOf(() => s.algorithm.update([s.batch], ctx));
      const state: Record<string, Float32Array> = Object.fromEntries(s.spec.state.map((e) => [e.name, new Float32Array(s.batch.numEnvs * e.size)]));
      const input = { obs: s.obs, numEnvs: s.batch.numEnvs, state, episodeStarts: new Uint8Array(s.batch.numEnvs), mask: null, rng: new Rng(1), deterministic: false };
      const act = await cpuOf(() => {
        for (let t = 0; t < s.batch.length; t++) input.state = s.policy.act(input).state;
      });
      if (r === 0) continue; // warm-up
      times[k].update.push((1000 * update) / steps);
      times[k].act.push((1000 * act) / steps);
    }
  }
  for (const s of Object.values(sides)) {
    s.algorithm.dispose();
    s.worker.close(); // and its policy
  }
  const m = (k: keyof typeof sides, what: 'update' | 'act') => median(times[k][what]);
  const pair = (what: 'update' | 'act') => ({ recurrent: m('recurrent', what), feedForward: m('feedForward', what), ratio: m('recurrent', what) / m('feedForward', what) });
  const b = sides.recurrent.batch;
  return { update: pair('update'), act: pair('act'), episodeEnds: b.terminated.reduce((a, x) => a + x, 0) + b.truncated.reduce((a, x) => a + x, 0) };
}
