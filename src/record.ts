import * as path from 'node:path';
import type { SamplingPolicy } from '../core/algorithm';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import type { EvaluationSeeds } from '../core/seed-streams';
import { envSpec, listEnvs } from '../envs/registry';
import { createEnv } from './env-loader';
import { summarise, type EvaluationResult, type EvaluationRun } from './evaluate';
import { videoWriter } from './video';
import type { RunConfig } from './config/schema';

/** Gymnasium's render fps of a registered env; 30 for a custom one. */
export function renderFps(envId: string): number {
  return listEnvs().some((s) => s.id === envId) ? (envSpec(envId).renderFps ?? 30) : 30;
}

/**
 * Plays `episodes` whole episodes one after another on one env and writes every frame (the
 * reset's and each step's) to `file` (.gif or .mp4). The first episode starts from the seed
 * evaluation's first env starts from, so with greedy actions it is that episode.
 */
export async function recordEpisodes(opts: EvaluationRun & { file: string }): Promise<EvaluationResult & { file: string; frames: number; bytes: number }> {
  const writer = videoWriter(opts.file, renderFps(opts.envId));
  const env = createEnv(opts.envId, opts.envConfig);
  const returns: number[] = [];
  const lengths: number[] = [];
  try {
    if (typeof env.render !== 'function') throw new EnvError(`env ${opts.envId} has no render(): a video needs the env to draw its frames (see "Watching a run" in the README)`);
    const render = () => env.render!();
    const rng = new Rng(opts.seeds.actions);
    const space = env.actionSpace;
    for (let k = 0; k < opts.episodes; k++) {
      let obs = env.reset(k === 0 ? { seed: opts.seeds.env(0) } : {}).obs;
      await writer.add(render());
      let ret = 0;
      let len = 0;
      for (;;) {
        let actions = opts.policy.act(obs, 1, rng, { deterministic: opts.deterministic }).actions;
        if (space.type === 'Box') actions = space.clip(actions);
        const r = env.step(space.type === 'Box' ? Float32Array.from(actions) : actions[0]);
        await writer.add(render());
        ret += r.reward;
        len += 1;
        obs = r.obs;
        if (r.terminated || r.truncated) break;
      }
      returns.push(ret);
      lengths.push(len);
      opts.onEpisode?.(k + 1, { env: 0, return: ret, length: len });
    }
  } finally {
    env.close();
  }
  const bytes = await writer.finish();
  return { ...summarise(returns, lengths), file: path.resolve(opts.file), frames: writer.frames, bytes };
}

/**
 * `evaluation: { video: true }`: one episode of the policy under evaluation, from that
 * evaluation's seed, to RUN_DIR/videos/iter_NNNNNN.gif. Returns the file's path.
 */
export async function writeEvaluationVideo(policy: SamplingPolicy, cfg: RunConfig, runDir: string, iteration: number, seeds: EvaluationSeeds): Promise<string> {
  const file = path.join(runDir, 'videos', `iter_${String(iteration).padStart(6, '0')}.gif`);
  await recordEpisodes({ policy, envId: cfg.env.id, envConfig: cfg.env.config, episodes: 1, seeds, deterministic: cfg.evaluation.deterministic, file });
  return file;
}
