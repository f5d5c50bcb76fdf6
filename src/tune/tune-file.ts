import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { describeValue, loadConfig, readYamlMapping, validateConfig } from '../config/load';
import type { RunConfig } from '../config/schema';
import type { PbtScheduler } from './pbt';
import { checkParams, checkSpace, gridPoints, parseSpace, sampleTrials, type Dimension, type Params } from './space';

/**
 * A sweep, as `rl tune --config tune.yaml` reads it: a base training config, the search space
 * over its keys, the metric to optimize, the budget, the seeds of each trial, how many trials
 * run at once, and the scheduler that may stop them early (ASHA) or not (fifo).
 */
export interface TuneSpec {
  /** Names the sweep dir (sweeps/<name>). */
  name: string;
  /** The training config every trial starts from, validated. */
  base: RunConfig;
  /** The search space; empty for a many-seeds run of one config. */
  space: Dimension[];
  /** The key of progress.jsonl to optimize: `episodeReturnMean`, `evalReturnMean`, ... */
  metric: string;
  /** Whether a higher (`max`) or lower (`min`) metric is better. */
  mode: 'max' | 'min';
  /** Configurations sampled (each run once per seed). */
  trials: number;
  /** Each configuration's runs' `seed:` values. */
  seeds: number[];
  /** Env steps per trial (its `stop.envSteps`), if the budget sets them. */
  envSteps?: number;
  /** The sweep's wall time in seconds: no trial starts after it, running ones are stopped. */
  wallSeconds?: number;
  /** Trial processes at once. */
  concurrency: number;
  /** Seeds the sampler of the space. */
  seed: number;
  /** Early stopping: none (fifo) or ASHA's rungs. */
  scheduler: Scheduler;
  /** The trials' configurations, in order, each validated. */
  configs: { params: Params; config: RunConfig }[];
}

/** ASHA (Li et al. 2018): rungs at grace, grace·eta, grace·eta², ... of `resource`. */
export interface AshaScheduler {
  /** The scheduler's name. */
  type: 'asha';
  /** What a rung counts: env steps or training iterations. */
  resource: 'envSteps' | 'iterations';
  /** The first rung. */
  grace: number;
  /** The reduction factor: a trial goes past a rung only in the top 1/eta of those that reached it. */
  eta: number;
}

/** What may stop trials early or change them: nothing (fifo: every trial runs to its stop rule), ASHA, or PBT. */
export type Scheduler = { type: 'fifo' } | AshaScheduler | PbtScheduler;

const budgetSchema = z
  .object({
    trials: z.number().int().positive().max(100_000).optional().describe('configurations sampled; default: the grid points (1 without grid dimensions)'),
    envSteps: z.number().int().positive().optional().describe("env steps per trial: its stop.envSteps"),
    wallSeconds: z.number().positive().optional().describe('wall time of the whole sweep'),
  })
  .strict();

const schedulerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('fifo') }).strict(),
  z
    .object({
      type: z.literal('asha'),
      resource: z.enum(['envSteps', 'iterations']).default('envSteps'),
      grace: z.number().positive().describe('the first rung, in resource units'),
      eta: z.number().int().min(2).max(100).default(3),
    })
    .strict(),
  z
    .object({
      type: z.literal('pbt'),
      interval: z.number().int().positive().describe('iterations between exploit/explore steps'),
      quantile: z.number().gt(0).max(0.5).default(0.25),
      resample: z.number().min(0).max(1).default(0.25),
    })
    .strict(),
]);

const tuneSchema = z
  .object({
    name: z.string().min(1).optional(),
    base: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    space: z.unknown().optional(),
    metric: z.record(z.string(), z.enum(['max', 'min'])).default({ episodeReturnMean: 'max' }),
    budget: budgetSchema.prefault({}),
    seeds: z.union([z.number().int().positive().max(10_000), z.array(z.number().int().min(0)).min(1).max(10_000)]).default(1),
    concurrency: z.number().int().positive().max(1024).optional(),
    seed: z.number().int().min(0).default(0),
    scheduler: schedulerSchema.prefault({ type: 'fifo' }),
  })
  .strict();

/** Keys of progress.jsonl a sweep may optimize beside the algorithm's own metrics. */
const RUN_METRICS = ['episodeReturnMean', 'episodeLenMean', 'evalReturnMean'];

/** Reads and checks a tune file: every trial's configuration is drawn and validated here, before any runs. */
export function loadTuneFile(file: string, opts: { seeds?: number[] } = {}): TuneSpec {
  const { raw, where } = readYamlMapping(file);
  // A training config (it names its algorithm) is a sweep of one configuration over seeds.
  if ('algorithm' in raw) return manySeeds(file, opts.seeds);
  const parsed = tuneSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.');
    const value = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), raw);
    const rule = issue.code === 'unrecognized_keys' ? `${issue.keys.join(', ')} is not a tune file key (expected: ${Object.keys(tuneSchema.shape).join(', ')})` : `(${describeValue(value)}) ${issue.message}`;
    throw new ConfigError(`${where(issue.path as (string | number)[])}: ${key || 'the tune file'}${issue.code === 'unrecognized_keys' ? ':' : ''} ${rule}`);
  }
  const t = parsed.data;
  const base = loadBase(file, t.base, where);
  const space = parseSpace(t.space, file);
  checkSpace(space, base, file);
  const metrics = Object.entries(t.metric);
  if (metrics.length !== 1) throw new ConfigError(`${where(['metric'])}: metric (${describeValue(t.metric)}) must name one key: { episodeReturnMean: max }`);
  const [metric, mode] = metrics[0];
  checkMetric(metric, base, where(['metric']));
  const trials = t.budget.trials ?? gridPoints(space).length;
  const seeds = opts.seeds ?? (typeof t.seeds === 'number' ? Array.from({ length: t.seeds }, (_, i) => base.seed + i) : t.seeds);
  const stop = t.budget.envSteps === undefined ? {} : { 'stop.envSteps': t.budget.envSteps };
  const configs = sampleTrials(space, trials, t.seed).map((params, i) => ({ params, config: checkParams(base, { ...params, ...stop }, `${file}: trial ${i} (${describeValue(params)})`) }));
  const name = t.name ?? path.basename(file).replace(/\.ya?ml$/, '');
  return { name, base, space, metric, mode, trials, seeds, envSteps: t.budget.envSteps, wallSeconds: t.budget.wallSeconds, concurrency: t.concurrency ?? defaultConcurrency(base), seed: t.seed, scheduler: t.scheduler, configs };
}

/** `rl tune --config train.yaml --seeds 0-9`: one configuration, one trial per seed, its stop rule's metric. */
function manySeeds(file: string, seeds: number[] | undefined): TuneSpec {
  if (!seeds) throw new ConfigError(`${file}: a training config (it names its algorithm) is tuned over seeds: give --seeds 0-9, or write a tune file (base:, space:) for a search`);
  const base = loadConfig(file);
  const metric = base.stop.evalReturnMean !== undefined ? 'evalReturnMean' : 'episodeReturnMean';
  return { name: `${base.name ?? 'run'}-seeds`, base, space: [], metric, mode: 'max', trials: 1, seeds, concurrency: defaultConcurrency(base), seed: 0, scheduler: { type: 'fifo' }, configs: [{ params: {}, config: base }] };
}

/** The base config: a file (relative to the tune file) or a mapping written inline. */
function loadBase(file: string, base: string | Record<string, unknown>, where: (p: (string | number)[]) => string): RunConfig {
  if (typeof base === 'string') return loadConfig(path.resolve(path.dirname(file), base));
  const raw = structuredClone(base);
  raw.name ??= path.basename(file).replace(/\.ya?ml$/, '');
  const env = raw.env as Record<string, unknown> | undefined;
  if (env && typeof env.module === 'string' && !path.isAbsolute(env.module)) env.module = path.resolve(path.dirname(file), env.module);
  return validateConfig(raw, (p) => `${where(['base', ...p])} base.${p.join('.')}`);
}

function checkMetric(metric: string, base: RunConfig, where: string): void {
  if (metric === 'evalReturnMean' && base.evaluation.every === 0) throw new ConfigError(`${where}: metric evalReturnMean needs evaluation.every > 0 in the base config`);
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(metric)) throw new ConfigError(`${where}: metric (${describeValue(metric)}) must be a key of progress.jsonl, such as ${RUN_METRICS.join(', ')}`);
}

/** Trials at once by default: the cores, each trial counted as its learner and its worker processes. */
export function defaultConcurrency(base: RunConfig, cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / (1 + base.workers.numWorkers)));
}

/** `0-9`, `0,3,7` or `5`: the seeds `--seeds` names. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1])) || Number(m[2] ?? m[1]) - Number(m[1]) >= 10_000) {
      throw new ConfigError(`--seeds (${JSON.stringify(text)}) must be whole numbers and ranges, such as 0-9 or 0,3,7`);
    }
    for (let s = Number(m[1]); s <= Number(m[2] ?? m[1]); s++) seeds.push(s);
  }
  return seeds;
}
