import * as path from 'node:path';
import type { SamplingPolicy } from '../core/algorithm';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import type { EvaluationSeeds } from '../core/seed-streams';
import { envSpec, listEnvs } from '../envs/registry';
import { createEnv } from './env-loader';
import { VectorEnv } from '../envs/vector-env';
import { Stepper } from '../envs/stepper';
import type { RgbFrame } from '../envs/env';
import type { StepperSpec } from '../envs/stepper';
import { outcomeOf, summarise, type EvaluationResult, type EvaluationRun } from './evaluate';
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
  const envs = new VectorEnv(opts.envId, [env]);
  const returns: number[] = [];
  const lengths: number[] = [];
  const outcomes: (string | undefined)[] = [];
  try {
    if (typeof env.render !== 'function') throw new EnvError(`env ${opts.envId} has no render(): a video needs the env to draw its frames (see "Rendering" in docs/writing-an-env.md)`);
    const render = () => env.render!();
    const stepper = new Stepper(envs, opts.policy, opts.spec, new Rng(opts.seeds.actions), opts.deterministic);
    stepper.reset([opts.seeds.env(0)]);
    await writer.add(render());
    while (returns.length < opts.episodes) {
      // An episode's last frame is drawn before the env is reset for the next one.
      let last: RgbFrame | undefined;
      const { step } = stepper.step(() => (last = render()));
      await writer.add(last ?? render());
      for (const ep of step.finished) {
        returns.push(ep.return);
        lengths.push(ep.length);
        outcomes.push(outcomeOf(step.infos[ep.env]));
        opts.onEpisode?.(returns.length, ep);
        if (returns.length < opts.episodes) await writer.add(render()); // the next episode's first frame
      }
    }
  } finally {
    envs.close();
  }
  const bytes = await writer.finish();
  return { ...summarise(returns, lengths, outcomes), file: path.resolve(opts.file), frames: writer.frames, bytes };
}

/**
 * `evaluation: { video: true }`: one episode of the policy under evaluation, from that
 * evaluation's seed, to RUN_DIR/videos/iter_NNNNNN.gif. Returns the file's path.
 */
export async function writeEvaluationVideo(policy: SamplingPolicy, spec: StepperSpec, cfg: RunConfig, runDir: string, iteration: number, seeds: EvaluationSeeds): Promise<string> {
  const file = path.join(runDir, 'videos', `iter_${String(iteration).padStart(6, '0')}.gif`);
  await recordEpisodes({ policy, spec, envId: cfg.env.id, envConfig: cfg.env.config, episodes: 1, seeds, deterministic: cfg.evaluation.deterministic, file });
  return file;
}
