import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { JsonlWriter, acquireRunDir, inUse } from '../run-dir';
import { AgentHub, type AgentHubOptions } from './agent-hub';
import { Asha } from './asha';
import { LocalRunners } from './runners';
import { Population } from './population';
import { readTrials } from './results';
import { describeParams, seedSummary, writeBest, writeResults, type SweepResult } from './sweep-report';
import { finish, launch, stop, type PlannedTrial, type Running, type TrialHandle } from './trial';
import { readTrialProgress } from './trial-progress';
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
  /** Also run trials on trial agents (`rl tune-agent`) that connect here (`rl tune --bind`). */
  agents?: Omit<AgentHubOptions, 'log'>;
  /**
   * How trials run on this machine: `runners` (default), in `spec.concurrency` long-lived runner
   * processes, trial after trial in-process; `processes`, each trial an `rl train` process of its own.
   */
  local?: 'runners' | 'processes';
}

/** A trial whose agent or local runner goes away this many times is recorded as an error (it may be what kills them). */
const MAX_LOSSES = 3;

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
  const handles = new Set<TrialHandle>();
  let hub: AgentHub | undefined;
  let runners: LocalRunners | undefined;
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
    if (opts.agents) {
      hub = new AgentHub({ ...opts.agents, envModule: spec.base.env.module, log }, dir);
      await hub.start();
    }
    if ((opts.local ?? 'runners') === 'runners' && spec.concurrency > 0) {
      runners = new LocalRunners(spec.concurrency, dir, opts.rl, log);
      await runners.start();
    }
    let local = 0; // trials running here in processes of their own
    try {
      while (pending.length > 0 || running.size > 0) {
        const outOfTime = spec.wallSeconds !== undefined && (performance.now() - start) / 1000 >= spec.wallSeconds;
        if (outOfTime) {
          if (pending.length > 0) log(`the sweep's wall time (${spec.wallSeconds} s) is spent: ${pending.length} trials not started`);
          pending.length = 0;
          for (const r of running.values()) stop(r, 'budget');
        }
        for (let i = 0; i < pending.length; ) {
          const remote = hub?.freeAgent();
          const runner = remote ? undefined : runners?.hub.freeAgent();
          const agent = remote ?? runner;
          if (!agent && (runners || local >= spec.concurrency)) break;
          const t = pending[i];
          const runDir = path.join(dir, 'trials', t.id);
          const busy = remote ? undefined : inUse(runDir);
          if (busy && performance.now() - (waitingSince.get(t.id) ?? performance.now()) < LOCK_WAIT_MS) {
            if (!waitingSince.has(t.id)) log(`trial ${t.id}: waiting for its run dir: ${busy}`);
            waitingSince.set(t.id, waitingSince.get(t.id) ?? performance.now());
            i++;
            continue;
          }
          pending.splice(i, 1);
          pbt?.prepare(t);
          const r = remote ? hub!.launch(t, remote, () => wake()) : runner ? runners!.hub.launch(t, runner, () => wake()) : launch(t, dir, opts.rl, () => wake());
          if (!agent) local++;
          handles.add(r.handle);
          running.set(t.id, r);
          log(`trial ${t.id} started${remote ? ` on ${remote.place}` : ''}: ${describeParams(t.params, t.seed)}`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, opts.pollMs ?? 500);
        });
        hub?.checkLost();
        for (const r of running.values()) {
          r.progress = readTrialProgress(path.join(dir, 'trials', r.id, 'progress.jsonl'), spec.metric, threshold);
          if (asha) checkRungs(r, asha, spec, log);
          if (!r.exit) continue;
          running.delete(r.id);
          handles.delete(r.handle);
          if (r.handle.place === 'local') local--;
          if (r.exit.lost && (r.losses ?? 0) + 1 < MAX_LOSSES) {
            // Its agent is gone: it runs again first, from the checkpoint the sweep dir holds of it.
            pending.unshift({ id: r.id, index: r.index, seed: r.seed, params: r.params, config: r.config, firstStart: r.firstStart ?? r.startTime, ranOn: r.ranOn, losses: (r.losses ?? 0) + 1 });
            continue;
          }
          if (r.exit.lost) r.exit.error = `lost where it ran ${MAX_LOSSES} times (${r.ranOn?.join(', ')}): its agent or runner went away each time`;
          if (pbt?.atBoundary(r)) {
            pbt.step(r);
            // The next interval, after every other member's (round-robin when the population is larger than the concurrency).
            pending.push({ id: r.id, index: r.index, seed: r.seed, params: r.params, config: r.config, firstStart: r.firstStart ?? r.startTime, ranOn: r.ranOn });
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
    for (const h of handles) h.stop(); // only on an exception: each trial checkpoints and ends
    await runners?.stop();
    await hub?.close();
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
