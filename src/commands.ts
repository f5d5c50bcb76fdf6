import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { algorithmNamed, algorithms } from '../algorithms';
import { trustSourceEnv } from './checkpoint/env-trust';
import { createEnv, createMultiAgentEnv, resolveEnvDir } from './env-loader';
import { trainedPolicyId } from './config/multi-agent';
import { evaluateMatches, type MatchReport } from './evaluate-matches';
import type { PolicySpec, SamplingPolicy } from '../core/algorithm';
import { checkpointWeights } from './runtime/multi-agent/algorithm';
import { weightsProblem } from './runtime/weights-check';
import { selectBackend, type BackendName } from './backend';
import { bestCheckpoint, describeBest, listCheckpoints, readCheckpoint, readMetadata, resolveCheckpoint, verifyCheckpoint, type CheckpointChoice, type CheckpointMetadata } from './checkpoint';
import { applyOverrides, describeValue, validateConfig } from './config/load';
import type { RunConfig } from './config/schema';
import { describeOutcomes, evaluatePolicy, type EvaluationResult } from './evaluate';
import { recordEpisodes } from './record';
import { BadCheckpointError, CheckpointError, ConfigError } from '../core/errors';
import { seedStreams } from '../core/seed-streams';

/** The config a checkpoint was trained with, `--set` overrides applied (e.g. a longer `stop`). */
export function configFromCheckpoint(dir: string, overrides: string[]): RunConfig {
  const config = structuredClone(readMetadata(dir).config);
  const overridden = applyOverrides(config, overrides);
  return validateConfig(config, (p) => overridden(p) ?? `${dir}/metadata.json config.${p.join('.')}`);
}

/** What fixes the shapes of a checkpoint's tensors: a resumed run must keep them. */
const RESUME_FIXED: string[][] = [['algorithm'], ['env', 'id'], ['env', 'config'], ['model']];

/**
 * Refuses to resume `dir` with a config whose model, env or algorithm differ from the
 * checkpoint's (the weights would not fit: a raw RangeError deep in the model before).
 */
export function checkResumable(dir: string, config: RunConfig): void {
  const saved = validateConfig(structuredClone(readMetadata(dir).config), (p) => `${dir}/metadata.json config.${p.join('.')}`);
  for (const key of RESUME_FIXED) {
    const diff = firstDifference(getIn(saved, key), getIn(config, key), key);
    if (diff) {
      throw new ConfigError(
        `--resume ${dir}: ${diff.path.join('.')} (${describeValue(diff.b)}) differs from the checkpoint's (${describeValue(diff.a)}); ` +
          'a resumed run keeps its algorithm, env and model (start a new run for another)',
      );
    }
  }
}

function getIn(o: unknown, p: string[]): unknown {
  return p.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
}

function firstDifference(a: unknown, b: unknown, p: (string | number)[]): { path: (string | number)[]; a: unknown; b: unknown } | undefined {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...p, k]);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : { path: p, a, b };
}

/**
 * A checkpoint's policy alone (no optimizer, no sockets), ready to act, with the config it was
 * trained with; the caller disposes of the policy. A module env is loaded only from `envDirs`.
 */
export async function loadCheckpointPolicy(dir: string, envDirs: string[] = [], policyOf?: string): Promise<{ meta: CheckpointMetadata; cfg: RunConfig; policy: SamplingPolicy; spec: PolicySpec }> {
  const { metadata: meta, tensors } = readCheckpoint(dir); // the weights alone: state.json (optimizer, counters) is not needed here
  const cfg = validateConfig(meta.config, (p) => `${dir}/metadata.json config.${p.join('.')}`);
  const policyId = policyOf ?? trainedPolicyId(cfg.multiAgent);
  // A module env is code: loaded only from a directory the user names (docs/writing-an-env.md, "Shipping env code to workers").
  trustSourceEnv(cfg.env, { source: dir, command: 'rl evaluate', envDirs: envDirs.map(resolveEnvDir), log: (l) => console.error(l) });
  await selectBackend(cfg.backend as BackendName);
  const module = algorithmNamed(meta.algorithm);
  if (!module) throw new BadCheckpointError(`${dir}: checkpoint of another kind (algorithm ${JSON.stringify(meta.algorithm)}; this version has ${Object.keys(algorithms).join(', ')})`);
  const spaces = envSpaces(cfg);
  const spec = module.policySpec({ config: cfg[meta.algorithm], model: cfg.model, ...spaces, policyId });
  const weights = checkpointWeights({ tensors }, policyId);
  // Exactly the tensors of the model of its config, names and shapes (a transposed matrix of the right size included), before any touches a model.
  const wrong = weights.length === 0 ? `it holds no weights of policy ${policyId} (weights/${policyId}/*)` : weightsProblem(module.weightShapes(spec), weights)?.message;
  if (wrong) throw new BadCheckpointError(`${dir}: checkpoint of another kind: its weights do not fit a ${meta.algorithm} policy of the model of its config (${wrong})`);
  const policy = module.createPolicy(spec);
  try {
    policy.setParams({ weights, scalars: {} });
  } catch (err) {
    policy.dispose();
    throw new BadCheckpointError(`${dir}: checkpoint of another kind: its weights do not fit a ${meta.algorithm} policy of the model of its config (${(err as Error).message.split('\n')[0]})`);
  }
  return { meta, cfg, policy, spec };
}

/** The spaces of the env a config names, as a policy of it sees them: a multi-agent env's first agent's (every agent of one policy has the same). */
function envSpaces(cfg: RunConfig): Pick<PolicySpec, 'observationSpace' | 'actionSpace' | 'actionMask'> {
  const env = cfg.multiAgent ? createMultiAgentEnv(cfg.env.id, cfg.env.config) : createEnv(cfg.env.id, cfg.env.config);
  try {
    const [observation, action] = 'possibleAgents' in env ? [env.observationSpaces[env.possibleAgents[0]], env.actionSpaces[env.possibleAgents[0]]] : [env.observationSpace, env.actionSpace];
    return { observationSpace: observation.toSpec(), actionSpace: action.toSpec(), actionMask: typeof env.actionMask === 'function' };
  } finally {
    env.close();
  }
}

/**
 * Runs episodes with a checkpoint's policy on its env, with a progress bar on stderr; prints
 * the summary unless `json`. With `video`, the episodes run one after another on one env and
 * every frame goes to that .gif or .mp4.
 */
export async function evaluateCheckpoint(
  dir: string,
  opts: { episodes: number; seed: number; stochastic: boolean; json: boolean; video?: string; envDirs?: string[]; policy?: string; opponents?: string[] },
): Promise<EvaluationResult | MatchReport> {
  const { meta, cfg, policy, spec } = await loadCheckpointPolicy(dir, opts.envDirs, opts.policy);
  if (cfg.multiAgent) {
    try {
      return await evaluateMatches({ dir, meta, cfg, policy, spec }, { ...opts, games: opts.episodes, opponents: opts.opponents ?? [], load: (d, policy) => loadCheckpointPolicy(d, opts.envDirs, policy) });
    } finally {
      policy.dispose();
    }
  }
  const bar = opts.json || !process.stderr.isTTY ? undefined : new SingleBar({ format: 'evaluating [{bar}] {value}/{total} episodes', stream: process.stderr });
  bar?.start(opts.episodes, 0);
  try {
    const run = { policy, spec, envId: cfg.env.id, envConfig: cfg.env.config, episodes: opts.episodes, seeds: seedStreams(opts.seed).evaluation(0), deterministic: !opts.stochastic, onEpisode: (n: number) => bar?.update(n) };
    const video = opts.video ? await recordEpisodes({ ...run, file: opts.video }) : undefined;
    const result = video ?? evaluatePolicy(run);
    bar?.stop();
    if (!opts.json) {
      console.log(
        `${meta.algorithm} on ${cfg.env.id}, ${dir} (iteration ${meta.iteration}, ${meta.envSteps.toLocaleString('en-US')} env steps), ` +
          `${result.episodes} episodes, ${opts.stochastic ? 'stochastic' : 'deterministic'} actions:\n` +
          `  return mean ${result.returnMean.toFixed(2)}  std ${result.returnStd.toFixed(2)}  min ${result.returnMin.toFixed(2)}  max ${result.returnMax.toFixed(2)}\n` +
          `  length mean ${result.lengthMean.toFixed(1)}` +
          (result.outcomes ? `\n  outcomes (info.outcome): ${describeOutcomes(result.outcomes, result.episodes)}` : ''),
      );
      if (video) console.log(`wrote ${opts.video}: ${video.frames} frames, ${(video.bytes / 1e6).toFixed(1)} MB`);
    }
    return result;
  } finally {
    policy.dispose();
  }
}

/**
 * A few readable lines on a run dir or a checkpoint; the checkpoint (a run's best, or its
 * latest: `prefer`) is read whole and checked, and `damaged` says if it would not load.
 */
export function describeRun(p: string, opts: { prefer?: CheckpointChoice } = {}): { text: string; damaged: boolean } {
  const dir = resolveCheckpoint(p, { prefer: opts.prefer ?? 'best' });
  const meta = readMetadata(dir);
  const isRun = path.resolve(dir) !== path.resolve(p);
  let damage: string | undefined;
  try {
    verifyCheckpoint(dir);
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    damage = err.message;
  }
  const best = isRun ? bestCheckpoint(p) : undefined;
  const isBest = best !== undefined && path.resolve(best) === path.resolve(dir);
  const lines = [
    `${isRun ? `run ${p}` : `checkpoint ${p}`}: ${meta.algorithm} on ${meta.envId}`,
    `  ${isRun ? (isBest ? 'best ' : 'latest ') : ''}checkpoint: ${dir} (iteration ${meta.iteration}, ${meta.envSteps.toLocaleString('en-US')} env steps, ${meta.wallSeconds.toFixed(1)} s, written ${meta.time})`,
  ];
  if (damage) lines.push(`  DAMAGED, it will not load: ${damage}`);
  if (isRun) {
    const periodic = listCheckpoints(p).map((c) => path.basename(c));
    lines.push(`  checkpoints: ${[...periodic, ...(best ? [`${path.relative(path.join(p, 'checkpoints'), best)} (${bestLine(best)})`] : [])].join(', ')}`);
  }
  const progressFile = path.join(isRun ? p : path.dirname(path.dirname(dir)), 'progress.jsonl');
  if (fs.existsSync(progressFile)) {
    const records = fs.readFileSync(progressFile, 'utf8').trim().split('\n').flatMap((l) => {
      try {
        return l ? [JSON.parse(l)] : [];
      } catch {
        return []; // a line cut short by a crash
      }
    });
    const last = records.slice(-5).map((r) => (r.episodeReturnMean === null ? '-' : Number(r.episodeReturnMean).toFixed(1)));
    lines.push(`  iterations logged: ${records.length}; episode return mean, last ${last.length}: ${last.join(', ')}`);
  } else if (meta.episodeReturnMean !== null) {
    lines.push(`  episode return mean: ${meta.episodeReturnMean.toFixed(1)}`);
  }
  const cfg = meta.config as Record<string, any>;
  lines.push(
    `  config: seed ${cfg.seed}, model ${JSON.stringify(cfg.model)}, workers ${JSON.stringify(cfg.workers)}, stop ${JSON.stringify(cfg.stop)}`,
    `  ${meta.algorithm}: ${JSON.stringify(cfg[meta.algorithm])}`,
    `  written by rl-zmq ${meta.packageVersion}, checkpoint format ${meta.formatVersion}`,
  );
  return { text: lines.join('\n'), damaged: damage !== undefined };
}

/** A best checkpoint's evaluation, or why it cannot be read. */
function bestLine(dir: string): string {
  try {
    return describeBest(readMetadata(dir));
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    return `unreadable: ${err.message}`;
  }
}
