/**
 * `node dist/bench/run.js eval-stop [--seeds 0,1,2] [--reuse] [--trials 2000] [--thresholds 200,210]`:
 * which stop rule on evaluation costs less wall time for the same reliability, on LunarLander-v3
 * (configs/ppo-lunarlander-workers.yaml): one 20-episode evaluation over the threshold (the
 * rule before), two 20-episode evaluations in a row (the rule now), or one 50-episode one.
 *
 * One training per seed serves every rule: the shipped config without evaluation, a checkpoint
 * every 5 iterations (where it evaluates), 245 iterations (about 1M steps; stop.envSteps stays
 * 2M, so the lr schedule is the shipped one). Every checkpoint then plays 100 greedy episodes.
 * A trial replays the run: at each checkpoint it splits those episodes at random into the
 * evaluation (20 or 50) and a disjoint 50 held out as the policy's score, keeps the
 * best-evaluated checkpoint as checkpoint.best does, and stops where the rule holds (see
 * docs/benchmarks.md, "eval-stop", for the figures).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { Rng } from '../core/rng';
import { seedStreams } from '../core/seed-streams';
import { listCheckpoints, readMetadata } from '../src/checkpoint';
import { loadCheckpointPolicy } from '../src/commands';
import { EVALUATION_ENVS, evaluatePolicy } from '../src/evaluate';
import { median, writeBenchJson } from './bench-json';
import { trainResuming } from './solve-suite';

const root = path.resolve(__dirname, '..', '..');
const EPISODES = 100;
const HELD_OUT = 50;
const BAR = 200;
const ITERATIONS = 245;

/** One checkpoint's greedy episodes (their returns, in any order: a trial splits them at random), and what playing them cost. */
export interface CheckpointEpisodes {
  iteration: number;
  envSteps: number;
  /** Training's own clock at this iteration (progress.jsonl), without evaluation. */
  wallSeconds: number;
  returns: number[];
  secondsPerEpisode: number;
}

export interface Rule {
  name: string;
  episodes: number;
  inARow: number;
}

export const RULES: Rule[] = [
  { name: '20 episodes, once', episodes: 20, inARow: 1 },
  { name: '20 episodes, 2 in a row', episodes: 20, inARow: 2 },
  { name: '50 episodes, once', episodes: 50, inARow: 1 },
];

/** The shipped config, evaluation and its stop taken out, a checkpoint every 5 iterations, all kept. */
function measuringConfig(): string {
  const c = parse(fs.readFileSync(path.join(root, 'configs', 'ppo-lunarlander-workers.yaml'), 'utf8')) as Record<string, unknown>;
  const every = (c.evaluation as { every: number }).every;
  delete c.evaluation;
  c.checkpoint = { every, everySeconds: 0, keep: 1000 };
  c.stop = { envSteps: (c.stop as { envSteps: number }).envSteps, iterations: ITERATIONS };
  return stringify(c);
}

function train(runRoot: string, seed: number, reuse: boolean): string {
  const runDir = path.join(runRoot, `s${seed}`);
  if (!reuse) fs.rmSync(runDir, { recursive: true, force: true });
  trainResuming(path.join(runRoot, 'config.yaml'), seed, runDir, path.join(runRoot, `s${seed}.log`), true);
  return runDir;
}

/** Every checkpoint's episodes, played once and kept in RUN_DIR/eval-stop-episodes.json. */
async function episodesOf(runDir: string): Promise<CheckpointEpisodes[]> {
  const file = path.join(runDir, 'eval-stop-episodes.json');
  const done: CheckpointEpisodes[] = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointEpisodes[]) : [];
  const progress = fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  for (const dir of listCheckpoints(runDir)) {
    const iteration = readMetadata(dir).iteration;
    if (done.some((d) => d.iteration === iteration)) continue;
    const { meta, cfg, policy, spec } = await loadCheckpointPolicy(dir);
    const returns: number[] = [];
    const start = performance.now();
    try {
      evaluatePolicy({
        policy,
        spec,
        envId: cfg.env.id,
        envConfig: cfg.env.config,
        episodes: EPISODES,
        seeds: seedStreams(cfg.seed).evaluation(iteration),
        deterministic: true,
        onEpisode: (_, ep) => returns.push(ep.return),
      });
    } finally {
      policy.dispose();
    }
    const seconds = (performance.now() - start) / 1000;
    const wall = progress.find((p) => p.iteration === iteration)?.wallSeconds;
    if (wall === undefined) throw new Error(`${runDir}: progress.jsonl has no iteration ${iteration}`);
    done.push({ iteration, envSteps: meta.envSteps, wallSeconds: wall, returns, secondsPerEpisode: seconds / EPISODES });
    done.sort((a, b) => a.iteration - b.iteration);
    fs.writeFileSync(file, JSON.stringify(done));
    console.log(`  ${path.basename(runDir)} iteration ${iteration}: mean ${mean(returns).toFixed(1)}, ${seconds.toFixed(1)} s for ${EPISODES} episodes`);
  }
  return done;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Which of `n` episodes an evaluation of `episodes` plays, and the disjoint `HELD_OUT` that
 * score the policy: a partial shuffle, so each is a uniform draw without replacement.
 */
export function drawSplit(n: number, episodes: number, rng: Rng): { evaluation: number[]; heldOut: number[] } {
  if (episodes + HELD_OUT > n) throw new Error(`${episodes} + ${HELD_OUT} episodes asked of ${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < episodes + HELD_OUT; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return { evaluation: idx.slice(0, episodes), heldOut: idx.slice(episodes, episodes + HELD_OUT) };
}

/**
 * What an evaluation of `episodes` costs at a checkpoint: its envs step in lockstep, so it lasts
 * about as many episodes as its busiest env plays (ceil(episodes / 16)), measured against the
 * 100 the checkpoint played.
 */
function evaluationSeconds(c: CheckpointEpisodes, episodes: number): number {
  const rounds = (n: number) => Math.ceil(n / Math.min(EVALUATION_ENVS, n));
  return c.secondsPerEpisode * c.returns.length * (rounds(episodes) / rounds(c.returns.length));
}

/** One replay of a run under `rule` at `threshold`; `kept` is the iteration checkpoint.best would hold. */
export function trial(run: CheckpointEpisodes[], rule: Rule, threshold: number, rng: Rng): { stopped: boolean; reliable: boolean; kept: number; wallSeconds: number; envSteps: number; evalEpisodes: number } {
  let best = -Infinity;
  let kept = { iteration: run[0].iteration, score: -Infinity };
  let inARow = 0;
  let evalSeconds = 0;
  let evalEpisodes = 0;
  for (const c of run) {
    const { evaluation, heldOut } = drawSplit(c.returns.length, rule.episodes, rng);
    const m = mean(evaluation.map((i) => c.returns[i]));
    evalSeconds += evaluationSeconds(c, rule.episodes);
    evalEpisodes += rule.episodes;
    if (m > best) [best, kept] = [m, { iteration: c.iteration, score: mean(heldOut.map((i) => c.returns[i])) }];
    inARow = m >= threshold ? inARow + 1 : 0;
    const stopped = inARow >= rule.inARow;
    if (stopped || c === run[run.length - 1]) {
      return { stopped, reliable: kept.score >= BAR, kept: kept.iteration, wallSeconds: c.wallSeconds + evalSeconds, envSteps: c.envSteps, evalEpisodes };
    }
  }
  throw new Error('a run with no checkpoints');
}

export async function evalStop(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string', default: '0,1,2' },
      reuse: { type: 'boolean', default: false },
      trials: { type: 'string', default: '2000' },
      thresholds: { type: 'string', default: '200,210,220,230,240' },
      'run-root': { type: 'string', default: path.join(root, 'runs', 'eval-stop') },
    },
  });
  const numbers = (flag: string, list: string) =>
    list.split(',').map((x) => {
      if (!/^\d+$/.test(x.trim())) throw new Error(`--${flag}: "${x}" is not a whole number`);
      return Number(x);
    });
  const seeds = numbers('seeds', values.seeds);
  const runRoot = values['run-root'];
  fs.mkdirSync(runRoot, { recursive: true });
  fs.writeFileSync(path.join(runRoot, 'config.yaml'), measuringConfig());
  console.log(`\n== stop on evaluation, LunarLander-v3: seeds ${seeds.join(', ')}, ${ITERATIONS} iterations each, ${EPISODES} greedy episodes per checkpoint ==`);
  const runs: CheckpointEpisodes[][] = [];
  for (const seed of seeds) runs.push(await episodesOf(train(runRoot, seed, values.reuse)));
  const thresholds = numbers('thresholds', values.thresholds);
  const [trials] = numbers('trials', values.trials);
  const rows = RULES.flatMap((rule) =>
    thresholds.map((threshold) => {
      const rng = new Rng(threshold);
      const outcomes = runs.flatMap((run) => Array.from({ length: trials }, () => trial(run, rule, threshold, rng)));
      const stopped = outcomes.filter((o) => o.stopped);
      return {
        rule: rule.name,
        threshold,
        stopped: stopped.length / outcomes.length,
        reliable: stopped.length ? stopped.filter((o) => o.reliable).length / stopped.length : NaN,
        medianWallSeconds: median(outcomes.map((o) => o.wallSeconds)),
        medianEnvSteps: median(outcomes.map((o) => o.envSteps)),
        medianEvalEpisodes: median(outcomes.map((o) => o.evalEpisodes)),
      };
    }),
  );
  console.log(`\n${trials} trials per seed and rule; reliable: of the trials that stopped, the share whose kept policy scores >= ${BAR} over ${HELD_OUT} held-out episodes`);
  console.log('| rule | threshold | stopped | reliable | median wall s | median env steps | median evaluation episodes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.rule} | ${r.threshold} | ${(100 * r.stopped).toFixed(0)} % | ${Number.isNaN(r.reliable) ? '-' : `${(100 * r.reliable).toFixed(1)} %`} | ${r.medianWallSeconds.toFixed(0)} | ${r.medianEnvSteps.toLocaleString('en-US')} | ${r.medianEvalEpisodes.toLocaleString('en-US')} |`);
  }
  const perSeed = runs.map((run, i) => ({ seed: seeds[i], means: run.map((c) => ({ iteration: c.iteration, mean: mean(c.returns) })) }));
  writeBenchJson('eval-stop', { trials, rows, perSeed });
}
