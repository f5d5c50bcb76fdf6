import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { configToYaml } from '../config/load';
import type { RunConfig } from '../config/schema';
import { listCheckpoints } from '../checkpoint';
import { JsonlWriter, acquireRunDir, inUse } from '../run-dir';
import { Rng } from '../../core/rng';
import { Asha } from './asha';
import { explore, exploitCheckpoint, pickDonor, type PbtScheduler } from './pbt';
import { writeHParams, type HParamsTrial } from './hparams';
import { bestConfig, bestYaml, readTrials, trialsCsv, type TrialRecord, type TrialStatus } from './results';
import { checkParams, type Params } from './space';
import { summarize, type SeedSummary } from './stats';
import { readTrialProgress, type TrialProgress } from './trial-progress';
import type { TuneSpec } from './tune-file';

/** How `runSweep` runs, beside the spec. */
export interface SweepOptions {
  /** The sweep's folder: sweep.json, trials.jsonl, trials.csv, best.yaml, trials/<id>/ (run dirs), configs/, logs/, tensorboard/. */
  sweepDir: string;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /** How often running trials' progress is read, in ms (default 500). */
  pollMs?: number;
  /** The program and arguments before `train ...` that run a trial (default: this node and rl's cli.js). */
  rl?: string[];
}

/** What a sweep ends with. */
export interface SweepResult {
  /** Every finished trial, in trial order. */
  trials: TrialRecord[];
  /** The best configuration's index and values, if any trial reported the metric. */
  best?: { index: number; params: Params; metric: number; stepsToThreshold: number; file: string };
  /** Over seeds: the IQM and bootstrap 95% interval of the final metric and of the env steps to the threshold (Infinity: not reached). */
  seeds?: { metric: SeedSummary; stepsToThreshold?: SeedSummary };
}

/** One trial to run: a configuration and a seed. */
interface PlannedTrial {
  id: string;
  index: number;
  seed: number;
  /** Its values: a PBT member's change as it explores. */
  params: Params;
  config: RunConfig;
  /** PBT: the iteration this launch ends at (its stop.iterations). */
  boundary?: number;
  /** PBT: when its first interval started (Unix seconds). */
  firstStart?: number;
}

/** A trial whose process runs. */
interface Running extends PlannedTrial {
  child: ChildProcess;
  startTime: number;
  /** Why the sweep stopped it, if it did: the scheduler at a rung, or the sweep's wall time. */
  stoppedBy?: 'scheduler' | 'budget';
  rungs: Record<string, number | null>;
  progress: TrialProgress;
  /** The size of its log when it started: what it wrote since is this launch's. */
  logOffset: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null; error?: string };
}

/** A lock held by a live process (a trial of a killed tuner still checkpointing) is waited for this long. */
const LOCK_WAIT_MS = 120_000;

/**
 * Runs a sweep: each trial an `rl train --resume auto` process with its own run dir under
 * `sweepDir/trials/`, at most `spec.concurrency` at once; their progress.jsonl is read for the
 * metric, the scheduler (ASHA) stops trials at rungs with SIGTERM (rl train then ends after its
 * iteration, with a checkpoint), a failed trial is recorded with its error. A sweep dir that
 * holds trials.jsonl already is continued: its finished trials are kept, the others run again
 * from their last checkpoints.
 */
export async function runSweep(spec: TuneSpec, opts: SweepOptions): Promise<SweepResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dir = opts.sweepDir;
  const release = acquireRunDir(dir); // one tuner per sweep dir
  const children = new Set<ChildProcess>();
  try {
    checkSweepDir(dir, spec);
    for (const sub of ['trials', 'configs', 'logs']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const trialsFile = path.join(dir, 'trials.jsonl');
    const finished = readTrials(trialsFile);
    const plan = planTrials(spec);
    const threshold = thresholdOf(spec);
    const asha = spec.scheduler.type === 'asha' ? new Asha({ ...spec.scheduler, mode: spec.mode, maxResource: maxResource(spec) }) : undefined;
    for (const r of finished.values()) {
      for (const [rung, v] of Object.entries(r.rungs)) asha?.restore(r.id, asha.rungs.indexOf(Number(rung)), v ?? NaN);
    }
    const pbt = spec.scheduler.type === 'pbt' ? new Population(spec, spec.scheduler, dir, log) : undefined;
    pbt?.restore(plan, finished);
    const pending = plan.filter((t) => !finished.has(t.id));
    if (finished.size > 0) log(`continuing the sweep in ${dir}: ${finished.size} trials finished, ${pending.length} to run`);
    const writer = new JsonlWriter(trialsFile);
    const created = Date.now() / 1000;
    const running = new Map<string, Running>();
    const waitingSince = new Map<string, number>();
    const start = performance.now();
    let wake: () => void = () => {};
    const publish = () => writeResults(dir, spec, plan, finished, running, created);
    publish();
    try {
      while (pending.length > 0 || running.size > 0) {
        const outOfTime = spec.wallSeconds !== undefined && (performance.now() - start) / 1000 >= spec.wallSeconds;
        if (outOfTime) {
          if (pending.length > 0) log(`the sweep's wall time (${spec.wallSeconds} s) is spent: ${pending.length} trials not started`);
          pending.length = 0;
          for (const r of running.values()) stop(r, 'budget');
        }
        for (let i = 0; i < pending.length && running.size < spec.concurrency; ) {
          const t = pending[i];
          const runDir = path.join(dir, 'trials', t.id);
          const busy = inUse(runDir);
          if (busy && performance.now() - (waitingSince.get(t.id) ?? performance.now()) < LOCK_WAIT_MS) {
            if (!waitingSince.has(t.id)) log(`trial ${t.id}: waiting for its run dir: ${busy}`);
            waitingSince.set(t.id, waitingSince.get(t.id) ?? performance.now());
            i++;
            continue;
          }
          pending.splice(i, 1);
          pbt?.prepare(t);
          const r = launch(t, dir, opts.rl, () => wake());
          children.add(r.child);
          running.set(t.id, r);
          log(`trial ${t.id} started: ${describeParams(t.params, t.seed)}`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, opts.pollMs ?? 500);
        });
        for (const r of running.values()) {
          r.progress = readTrialProgress(path.join(dir, 'trials', r.id, 'progress.jsonl'), spec.metric, threshold);
          if (asha) checkRungs(r, asha, spec, log);
          if (!r.exit) continue;
          running.delete(r.id);
          children.delete(r.child);
          if (pbt?.atBoundary(r)) {
            pbt.step(r);
            // The next interval, after every other member's (round-robin when the population is larger than the concurrency).
            pending.push({ id: r.id, index: r.index, seed: r.seed, params: r.params, config: r.config, firstStart: r.firstStart ?? r.startTime });
            continue;
          }
          pbt?.scores.set(r.id, r.progress.metric);
          const record = finish(r, dir);
          finished.set(r.id, record);
          writer.write(record as unknown as Record<string, unknown>);
          log(`trial ${r.id} ${record.status}: ${spec.metric} ${record.metric === null ? '-' : record.metric.toFixed(2)} at ${record.envSteps.toLocaleString('en-US')} env steps, ${record.wallSeconds.toFixed(1)} s${record.error ? ` (${record.error})` : ''} [${finished.size}/${plan.length} done]`);
          publish();
        }
      }
    } finally {
      writer.close();
    }
    const trials = plan.flatMap((t) => (finished.has(t.id) ? [finished.get(t.id)!] : []));
    const result: SweepResult = { trials, best: writeBest(dir, spec, trials) };
    if (spec.seeds.length > 1 && spec.configs.length === 1) result.seeds = seedSummary(trials, threshold !== undefined);
    if (result.seeds) fs.writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(result.seeds, null, 2)}\n`);
    return result;
  } finally {
    for (const c of children) c.kill('SIGTERM'); // only on an exception: each trial checkpoints and ends
    release();
  }
}

/** Each configuration once per seed, in order: `t<index>-s<seed>`. */
function planTrials(spec: TuneSpec): PlannedTrial[] {
  return spec.configs.flatMap(({ params, config }, index) =>
    spec.seeds.map((seed) => ({ id: `t${String(index).padStart(3, '0')}-s${seed}`, index, seed, params, config: { ...config, seed, name: `${spec.name}-t${index}-s${seed}` } })),
  );
}

/** The stop rule's threshold on the metric, if the base config has one (steps to it are recorded). */
function thresholdOf(spec: TuneSpec): { value: number; mode: 'max' | 'min' } | undefined {
  const value = (spec.base.stop as Record<string, number | undefined>)[spec.metric];
  return value === undefined ? undefined : { value, mode: spec.mode };
}

/** A trial's whole budget in the scheduler's resource: no rung stands at or past it. */
function maxResource(spec: TuneSpec): number | undefined {
  if (spec.scheduler.type !== 'asha') return undefined;
  const stop = spec.configs[0]?.config.stop;
  return spec.scheduler.resource === 'envSteps' ? stop?.envSteps : stop?.iterations;
}

/** sweep.json: what the sweep is; a sweep dir of another spec is refused (its trials would mix). */
function checkSweepDir(dir: string, spec: TuneSpec): void {
  const file = path.join(dir, 'sweep.json');
  const { configs, ...rest } = spec;
  const mine = JSON.stringify({ ...rest, configs: configs.map((c) => c.params), concurrency: undefined, wallSeconds: undefined }, null, 2);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== `${mine}\n`) {
    throw new ConfigError(`${dir}: holds a sweep of another tune file or seeds (its sweep.json differs); give another --sweep-dir, or delete ${dir} to start over`);
  }
  fs.writeFileSync(file, `${mine}\n`);
}

/** Starts `rl train --resume auto` for a trial: a fresh run, or the continuation of its last checkpoint. */
function launch(t: PlannedTrial, dir: string, rl: string[] | undefined, onExit: () => void): Running {
  const configFile = path.join(dir, 'configs', `${t.id}.yaml`);
  fs.writeFileSync(configFile, configToYaml(t.config));
  const logFile = path.join(dir, 'logs', `${t.id}.log`);
  const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const out = fs.openSync(logFile, 'a');
  const [cmd, ...pre] = rl ?? [process.execPath, path.join(__dirname, '..', 'cli.js')];
  const args = [...pre, 'train', '--config', configFile, '--run-dir', path.join(dir, 'trials', t.id), '--resume', 'auto'];
  // The IPC channel tells the trial when the tuner dies (kill -9): it then checkpoints and ends.
  const child = spawn(cmd, args, { stdio: ['ignore', out, out, 'ipc'] });
  fs.closeSync(out);
  const r: Running = { ...t, child, startTime: Date.now() / 1000, rungs: {}, progress: readTrialProgress('', ''), logOffset };
  child.once('exit', (code, signal) => {
    r.exit = { code, signal };
    onExit();
  });
  child.once('error', (err) => {
    r.exit = { code: null, signal: null, error: err.message };
    onExit();
  });
  return r;
}

/** Stops a trial with SIGTERM (rl train ends after its iteration, with a checkpoint); once. */
function stop(r: Running, why: 'scheduler' | 'budget'): void {
  if (r.stoppedBy || r.exit) return;
  r.stoppedBy = why;
  r.child.kill('SIGTERM');
}

/** Reports each rung the trial has newly passed to ASHA, with its metric there; stops it if ASHA says so. */
function checkRungs(r: Running, asha: Asha, spec: TuneSpec, log: (l: string) => void): void {
  if (spec.scheduler.type !== 'asha' || r.stoppedBy) return;
  const resource = spec.scheduler.resource;
  for (const k of asha.rungsPassed(resource === 'envSteps' ? r.progress.envSteps : r.progress.iterations)) {
    const rung = asha.rungs[k];
    if (String(rung) in r.rungs) continue;
    const at = r.progress.series.find((s) => s[resource] >= rung)!;
    r.rungs[String(rung)] = Number.isNaN(at.metric) ? null : at.metric;
    if (asha.report(r.id, k, at.metric) === 'stop' && !r.exit) {
      log(`trial ${r.id} stopped by ASHA at rung ${rung} ${resource}: ${spec.metric} ${at.metric.toFixed(2)} is not in the top 1/${spec.scheduler.eta} there`);
      stop(r, 'scheduler');
      return;
    }
  }
}

/** The record of a trial whose process ended. */
function finish(r: Running, dir: string): TrialRecord {
  const { code, signal, error } = r.exit!;
  const clean = code === 0 || (r.stoppedBy !== undefined && signal === 'SIGTERM');
  const status: TrialStatus = !clean ? 'error' : r.stoppedBy === 'scheduler' ? 'stopped' : r.stoppedBy === 'budget' ? 'terminated' : 'completed';
  const p = r.progress;
  const endTime = Date.now() / 1000;
  return {
    id: r.id,
    index: r.index,
    seed: r.seed,
    params: r.params,
    status,
    metric: Number.isFinite(p.metric) ? p.metric : null,
    rungs: r.rungs,
    stepsToThreshold: p.stepsToThreshold ?? null,
    envSteps: p.envSteps,
    iterations: p.iterations,
    wallSeconds: endTime - (r.firstStart ?? r.startTime),
    ...(status === 'error' ? { error: error ?? lastError(path.join(dir, 'logs', `${r.id}.log`), code, signal) } : {}),
    runDir: path.join('trials', r.id),
    startTime: r.firstStart ?? r.startTime,
    endTime,
  };
}

/** The failed trial's own error line (`error: ...`) from its log, else its last line, else its exit. */
function lastError(logFile: string, code: number | null, signal: NodeJS.Signals | null): string {
  const exit = signal ? `killed by ${signal}` : `exit code ${code}`;
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
  } catch {
    // no log: the exit says it all
  }
  const line = [...lines].reverse().find((l) => l.startsWith('error: ')) ?? lines.find((l) => /Error\b/.test(l)) ?? lines[lines.length - 1];
  return line ? `${line.slice(0, 300)} (${exit})` : exit;
}

/** trials.csv and the HParams data, rewritten from the finished and running trials. */
function writeResults(dir: string, spec: TuneSpec, plan: PlannedTrial[], finished: Map<string, TrialRecord>, running: Map<string, Running>, created: number): void {
  const records = plan.flatMap((t) => (finished.has(t.id) ? [finished.get(t.id)!] : []));
  fs.writeFileSync(path.join(dir, 'trials.csv'), trialsCsv(records));
  const hp: HParamsTrial[] = records.map((r) => ({ id: r.id, params: r.params, seed: r.seed, metric: r.metric ?? undefined, envSteps: r.envSteps, status: r.status === 'error' ? 'failure' : 'success', startTime: r.startTime, endTime: r.endTime }));
  for (const r of running.values()) hp.push({ id: r.id, params: r.params, seed: r.seed, envSteps: 0, status: 'running', startTime: r.startTime });
  writeHParams(path.join(dir, 'tensorboard'), { space: spec.space, metric: spec.metric, trials: hp, created });
}

/**
 * best.yaml: the best configuration over its seeds, as its trials trained: the base config with
 * its values and the budget's stop.envSteps (a schedule over the run, lrSchedule: linear, follows
 * it), the base's seed.
 */
function writeBest(dir: string, spec: TuneSpec, trials: TrialRecord[]): SweepResult['best'] {
  const score = bestConfig(trials, spec.mode);
  if (!score) return undefined;
  const params = spec.configs[score.index].params;
  const config = checkParams(spec.configs[score.index].config, { name: `${spec.name}-best`, seed: spec.base.seed }, `best configuration ${score.index}`);
  const file = path.join(dir, 'best.yaml');
  fs.writeFileSync(file, bestYaml(config, score, spec.metric, dir));
  return { index: score.index, params, metric: score.metric, stepsToThreshold: score.stepsToThreshold, file };
}

/** Over the seeds of one configuration: IQM and interval of the final metric and of the steps to the threshold. */
function seedSummary(trials: TrialRecord[], hasThreshold: boolean): SweepResult['seeds'] {
  const metric = summarize(trials.map((t) => t.metric ?? NaN).filter((v) => !Number.isNaN(v)));
  return hasThreshold ? { metric, stepsToThreshold: summarize(trials.map((t) => t.stepsToThreshold ?? Infinity)) } : { metric };
}

function describeParams(params: Params, seed: number): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(3) : JSON.stringify(v)}`);
  return [...parts, `seed=${seed}`].join(' ');
}

/** The sweep's outcome in a few lines: trials by status, the best configuration, and over seeds the IQM and intervals. */
export function describeSweep(result: SweepResult, metric: string): string {
  const counts = new Map<string, number>();
  for (const t of result.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const lines = [`${result.trials.length} trials: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`];
  const b = result.best;
  if (b) {
    const steps = Number.isFinite(b.stepsToThreshold) ? `, ${Math.round(b.stepsToThreshold).toLocaleString('en-US')} env steps to the threshold` : '';
    const values = Object.keys(b.params).length > 0 ? describeParams(b.params, NaN).replace(/ seed=NaN$/, '') : 'the base config';
    lines.push(`best: configuration ${b.index} (${values}): ${metric} ${b.metric.toFixed(2)}${steps}; ${b.file}`);
  }
  const s = result.seeds;
  if (s) {
    const show = (x: SeedSummary, digits: number) => `IQM ${x.iqm.toFixed(digits)}, 95% CI [${x.ci95[0].toFixed(digits)}, ${x.ci95[1].toFixed(digits)}] over ${x.values.length} seeds`;
    lines.push(`final ${metric}: ${show(s.metric, 2)}`);
    if (s.stepsToThreshold) lines.push(`env steps to the threshold: ${show(s.stepsToThreshold, 0)} (${s.stepsToThreshold.values.filter(Number.isFinite).length} reached it)`);
  }
  return lines.join('\n');
}

/**
 * The PBT population as the sweep drives it: each member's run ends at every `interval`
 * iterations (its stop.iterations), and is started again after `step`: a member in the bottom
 * quantile first copies a top member's checkpoint and explores from its values. The steps are
 * logged to pbt.jsonl, from which a continued sweep takes each member's latest values.
 */
class Population {
  /** Each member's latest metric (at its last interval, or its end). */
  readonly scores = new Map<string, number>();
  /** Each member's current values. */
  private readonly params = new Map<string, Params>();
  private readonly rng: Rng;
  private readonly file: string;

  constructor(
    private readonly spec: TuneSpec,
    private readonly pbt: PbtScheduler,
    private readonly dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.rng = new Rng(spec.seed + 1);
    this.file = path.join(dir, 'pbt.jsonl');
  }

  /** Members' values as pbt.jsonl last left them, and the finished members' metrics. */
  restore(plan: PlannedTrial[], finished: Map<string, TrialRecord>): void {
    for (const t of plan) this.params.set(t.id, t.params);
    for (const e of readJsonl(this.file)) {
      const t = plan.find((p) => p.id === e.member);
      if (t) t.params = e.params;
      this.params.set(e.member, e.params);
    }
    for (const r of finished.values()) if (r.metric !== null) this.scores.set(r.id, r.metric);
  }

  /** The member's config for its next interval: its values, and stop.iterations at the next multiple of the interval past where its run stands. */
  prepare(t: PlannedTrial): void {
    // Where its run resumes: its newest checkpoint (after an exploit, the copied one), not its own progress.
    const newest = listCheckpoints(path.join(this.dir, 'trials', t.id)).pop();
    const done = newest ? Number(path.basename(newest).slice('iter_'.length)) : 0;
    const own = this.spec.base.stop.iterations;
    t.boundary = Math.min((Math.floor(done / this.pbt.interval) + 1) * this.pbt.interval, own ?? Infinity);
    const budget = this.spec.envSteps === undefined ? {} : { 'stop.envSteps': this.spec.envSteps };
    t.config = checkParams(this.spec.base, { ...t.params, ...budget, 'stop.iterations': t.boundary, seed: t.seed, name: `${this.spec.name}-${t.id}` }, `PBT member ${t.id}`);
  }

  /** Whether the member's run ended at its interval (and not at its own stop rule). */
  atBoundary(r: Running): boolean {
    if (r.exit?.code !== 0 || r.stoppedBy || r.boundary === undefined || r.boundary === this.spec.base.stop.iterations) return false;
    let text = '';
    try {
      text = fs.readFileSync(path.join(this.dir, 'logs', `${r.id}.log`)).subarray(r.logOffset).toString('utf8');
    } catch {
      return false;
    }
    return new RegExp(`^done: iterations \\d+ >= ${r.boundary}\\.`, 'm').test(text);
  }

  /** Exploit and explore for a member at its interval, if it is in the bottom quantile. */
  step(r: Running): void {
    this.scores.set(r.id, r.progress.metric);
    const donor = pickDonor(r.id, this.scores, { quantile: this.pbt.quantile, mode: this.spec.mode }, this.rng);
    if (!donor) return;
    const copied = exploitCheckpoint(path.join(this.dir, 'trials', donor), path.join(this.dir, 'trials', r.id));
    if (!copied) return;
    const from = this.params.get(donor)!;
    let next = from;
    for (let attempt = 0; attempt < 10; attempt++) {
      const candidate = explore(from, this.spec.space, this.rng, this.pbt.resample);
      try {
        checkParams(this.spec.base, candidate, 'explore');
        next = candidate;
        break;
      } catch {
        // a combination the schema refuses: explore again (after 10 tries, the donor's values as they are)
      }
    }
    r.params = next;
    this.params.set(r.id, next);
    const event = { member: r.id, iteration: r.progress.iterations, metric: Number.isFinite(r.progress.metric) ? r.progress.metric : null, donor, donorMetric: this.scores.get(donor) ?? null, checkpoint: path.relative(this.dir, copied), params: next };
    fs.appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    this.log(`trial ${r.id} (${this.spec.metric} ${r.progress.metric.toFixed(2)}) copies ${donor}'s checkpoint ${path.basename(copied)} and explores: ${describeParams(next, r.seed)}`);
  }
}

/** The records of a JSONL file whose lines may be cut short by a kill (those are skipped). */
function readJsonl(file: string): { member: string; params: Params }[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    try {
      return l ? [JSON.parse(l)] : [];
    } catch {
      return [];
    }
  });
}
