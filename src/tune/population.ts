import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../core/rng';
import { listCheckpoints } from '../checkpoint';
import { explore, exploitCheckpoint, pickDonor, type PbtScheduler } from './pbt';
import type { TrialRecord } from './results';
import { checkParams, type Params } from './space';
import { describeParams } from './sweep-report';
import type { PlannedTrial, Running } from './trial';
import type { TuneSpec } from './tune-file';

/**
 * The PBT population as the sweep drives it: each member's run ends at every `interval`
 * iterations (its stop.iterations), and is started again after `step`: a member in the bottom
 * quantile first copies a top member's checkpoint and explores from its values. The steps are
 * logged to pbt.jsonl, from which a continued sweep takes each member's latest values.
 */
export class Population {
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
