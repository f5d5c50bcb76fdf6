/**
 * Asynchronous successive halving (ASHA; Li et al. 2018, "A System for Massively Parallel
 * Hyperparameter Tuning"), in its stopping form: rungs stand at r, r·eta, r·eta², ... of a
 * resource (env steps or iterations); a trial that reaches a rung goes on only if its metric
 * there is in the top 1/eta of the values every trial has reached that rung with so far (itself
 * included), else it is stopped. No trial waits for others: the first to reach a rung always
 * goes on, and the bar rises as more arrive.
 *
 * "Top 1/eta" of n values: the best max(1, floor(n / eta)) of them; a trial's rank is 1 + the
 * number of values strictly better than its own (ties share a rank), and a value that is not a
 * number (NaN: no episode finished yet) is worse than every number.
 */
export class Asha {
  /** The resource at each rung, ascending. */
  readonly rungs: number[];
  /** The values recorded at each rung, by trial. */
  private readonly recorded: Map<string, number>[];

  constructor(opts: {
    /** The first rung. */
    grace: number;
    /** The reduction factor (>= 2). */
    eta: number;
    /** Whether higher metrics are better. */
    mode: 'max' | 'min';
    /** A trial's whole budget: rungs stand only below it (at it, the trial ends anyway). */
    maxResource?: number;
    /** At most this many rungs (when there is no maxResource). */
    maxRungs?: number;
  }) {
    this.eta = opts.eta;
    this.mode = opts.mode;
    this.rungs = [];
    for (let r = opts.grace; this.rungs.length < (opts.maxRungs ?? 32) && (opts.maxResource === undefined || r < opts.maxResource); r *= opts.eta) this.rungs.push(r);
    this.recorded = this.rungs.map(() => new Map());
  }

  private readonly eta: number;
  private readonly mode: 'max' | 'min';

  /**
   * The trial reached rung `rung` (an index into `rungs`) with `value`: whether it goes on. A
   * rung reported twice (a resumed trial re-reads its progress) keeps its first value and goes on.
   */
  report(trial: string, rung: number, value: number): 'continue' | 'stop' {
    const at = this.recorded[rung];
    if (at.has(trial)) return 'continue';
    at.set(trial, value);
    const values = [...at.values()];
    const rank = 1 + values.filter((v) => this.better(v, value)).length;
    return rank <= Math.max(1, Math.floor(values.length / this.eta)) ? 'continue' : 'stop';
  }

  /** Records a value decided before (a finished trial's rungs, read back on resume). */
  restore(trial: string, rung: number, value: number): void {
    if (rung < this.recorded.length && !this.recorded[rung].has(trial)) this.recorded[rung].set(trial, value);
  }

  /** The rungs (indexes) a trial at `resource` has passed. */
  rungsPassed(resource: number): number[] {
    return this.rungs.flatMap((r, i) => (resource >= r ? [i] : []));
  }

  /** Whether `a` is strictly better than `b` (a number beats NaN). */
  private better(a: number, b: number): boolean {
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(b)) return true;
    return this.mode === 'max' ? a > b : a < b;
  }
}
