/**
 * `node dist/bench/run.js solve-suite [--configs a,b] [--seeds 0,1,2] [--reuse] [--markdown] [--table]`:
 * every shipped config (configs/*.yaml) on each seed, through the real CLI: `rl train` as a
 * child process, then `rl evaluate --checkpoint RUN_DIR --episodes 100 --json` (the run's kept
 * best where it has one). One table: steps, wall time, why it stopped, the 100-episode greedy
 * score, and whether that score reaches the env's reward threshold (where the env has none, a
 * paper's figure for that config, else the config's stop threshold). One training at a time; runs go to runs/suite/<config>-s<seed>/.
 * A multi-agent config's row is its trained policy's matches instead (`rl evaluate --opponent`,
 * `MATCH_BARS`: per opponent and seat, a win rate or a mean return against a bar).
 * Each run's row is merged into runs/bench/solve-suite.json as it ends; `--table` prints the
 * table from there without training. `--reuse` keeps run dirs found (`rl train --resume auto`:
 * a finished one is only evaluated, an interrupted one goes on).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { envSpec } from '../envs';
import { bestCheckpoint, readMetadata } from '../src/checkpoint';
import { loadConfig } from '../src/config/load';
import { createMultiAgentEnv } from '../src/env-loader';
import type { MatchReport } from '../src/evaluate-matches';
import { playMatch } from '../src/runtime/multi-agent/matches';
import { stopReason } from '../src/metrics';
import { type SeedSummary, summarize } from '../src/tune/stats';
import { writeBenchJson } from './bench-json';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist/src/cli.js');

/** One config on one seed: what training took and what `rl evaluate` made of the kept policy. */
export interface SuiteRow {
  config: string;
  seed: number;
  envSteps: number;
  /** Training's own clock (progress.jsonl), without process start-up. */
  wallSeconds: number;
  stopReason: string;
  /** Which checkpoint `rl evaluate` took: the run's best (with the env steps it was kept at), or its newest. */
  checkpoint: { kind: 'best' | 'latest'; envSteps: number; iteration: number };
  evalReturnMean: number;
  evalReturnStd: number;
  threshold: number;
  thresholdFrom: 'env' | 'paper' | 'target' | 'stop' | 'baseline';
  pass: boolean;
  /** A multi-agent config's row: its matches, each held to its bar (the row passes when all do); `evalReturnMean` is their mean return. */
  matches?: MatchCell[];
  /** Set when this call trained it; absent when `--reuse` found it finished. */
  processSeconds?: number;
}

/**
 * Bars for configs whose env has no reward threshold of its own, and where each comes from:
 * - MinAtar's games (their bar depends on the algorithm): the DQN figures at 3M frames in the
 *   MinAtar paper's learning curves (Young & Tian 2019, 100-episode moving averages), less one
 *   for DQN on Breakout;
 * - Pendulum-v1 for SAC: the issue's target, under the SB3 zoo's -157.0 ± 88.7 at its
 *   20,000-step budget;
 * - TicTacToe-v0 against the random opponent: the issue's 98% of games won or drawn; as a mean
 *   return (win +1, draw 0, loss -1), 1 - draws - 2 losses >= 0.96 holds the losses to 2% at most.
 */
const BARS: Record<string, { bar: number; from: 'paper' | 'target' }> = {
  'ppo-minatar-breakout': { bar: 10, from: 'paper' },
  'dqn-minatar-breakout': { bar: 9, from: 'paper' },
  'ppo-minatar-spaceinvaders': { bar: 40, from: 'paper' },
  'appo-minatar-spaceinvaders-workers': { bar: 40, from: 'paper' },
  'sac-pendulum': { bar: -200, from: 'target' },
  'ppo-mask-tictactoe': { bar: 0.96, from: 'target' },
  'dqn-mask-tictactoe': { bar: 0.96, from: 'target' },
};

/** One bar of a multi-agent config: the trained policy against `opponent`, in each seat it plays, a win rate or a mean return at least `bar` (a number, or the mean return of a built-in player in every seat). */
export interface MatchBar {
  opponent: string;
  measure: 'winRate' | 'returnMean';
  bar: number | { builtin: string };
}

/**
 * The multi-agent configs' bars, `games` games per seat and opponent (`rl evaluate --opponent
 * ... --episodes games`, greedy unless the config evaluates with sampled actions):
 * - ppo-selfplay-connect4: the issue's targets, 99% of games won against random and 80% against
 *   minimax:2, as first and as second player;
 * - SpreadLine-v0 (cooperative): the team's mean return above two `greedy` agents' (each to the
 *   landmark nearest it), played over as many games.
 */
export const MATCH_BARS: Record<string, { games: number; from: 'target' | 'baseline'; bars: MatchBar[] }> = {
  'ppo-selfplay-connect4': { games: 200, from: 'target', bars: [{ opponent: 'random', measure: 'winRate', bar: 0.99 }, { opponent: 'minimax:2', measure: 'winRate', bar: 0.8 }] },
  'ppo-spread-line': { games: 200, from: 'baseline', bars: [{ opponent: 'self', measure: 'returnMean', bar: { builtin: 'greedy' } }] },
  'ppo-spread-line-separate': { games: 200, from: 'baseline', bars: [{ opponent: 'team', measure: 'returnMean', bar: { builtin: 'greedy' } }] },
};

/** One match of a multi-agent row: the trained policy against `opponent` as `seat`, its win rate and mean return, and the bar of `measure`. */
export interface MatchCell {
  opponent: string;
  seat: string;
  games: number;
  winRate: number;
  returnMean: number;
  measure: 'winRate' | 'returnMean';
  bar: number;
  pass: boolean;
}

/** The mean return of built-in player `name` in every seat of the config's env, over `games` games (seeded): a cooperative game's baseline team. */
export function builtinTeamReturn(cfg: ReturnType<typeof loadConfig>, name: string, games: number, seed = 0): number {
  const player = { kind: 'builtin' as const, name };
  const makeEnv = () => createMultiAgentEnv(cfg.env.id, cfg.env.config);
  const seats = Object.values(playMatch({ makeEnv, seed, games, player, opponent: player }));
  return seats.reduce((a, r) => a + r.returnMean * r.games, 0) / seats.reduce((a, r) => a + r.games, 0);
}

/** `rl evaluate`'s report held to the bars: one cell per bar and seat the report has; a bar's opponent missing from the report throws. */
export function matchCells(report: MatchReport, bars: MatchBar[], baseline: (builtin: string) => number): MatchCell[] {
  return bars.flatMap((b) => {
    const match = report.matches.find((m) => m.opponent === b.opponent);
    if (!match) throw new Error(`rl evaluate's report has no match against ${b.opponent} (it has ${report.matches.map((m) => m.opponent).join(', ')})`);
    const bar = typeof b.bar === 'number' ? b.bar : baseline(b.bar.builtin);
    return Object.entries(match.seats).map(([seat, r]) => {
      const winRate = r.wins / Math.max(1, r.games);
      return { opponent: b.opponent, seat, games: r.games, winRate, returnMean: r.returnMean, measure: b.measure, bar, pass: (b.measure === 'winRate' ? winRate : r.returnMean) >= bar };
    });
  });
}

/** The bar a config's 100-episode score is held to: the env's reward threshold, else a paper's figure or its issue's target, else its stop rule's. */
export function thresholdOf(cfg: ReturnType<typeof loadConfig>, name?: string): { threshold: number; thresholdFrom: 'env' | 'paper' | 'target' | 'stop' } {
  const env = envSpec(cfg.env.id).rewardThreshold;
  if (env !== undefined) return { threshold: env, thresholdFrom: 'env' };
  const known = name === undefined ? undefined : BARS[name];
  if (known !== undefined) return { threshold: known.bar, thresholdFrom: known.from };
  const stop = cfg.stop.evalReturnMean ?? cfg.stop.episodeReturnMean;
  if (stop === undefined) throw new Error(`${cfg.env.id} has no reward threshold and the config no stop.evalReturnMean or stop.episodeReturnMean`);
  return { threshold: stop, thresholdFrom: 'stop' };
}

/** Why the run stopped, worked out from its progress.jsonl by the rule the learner used. */
export function stopOf(cfg: ReturnType<typeof loadConfig>, progress: Record<string, number>[]): string {
  const last = progress[progress.length - 1];
  const evals = progress.filter((p) => typeof p.evalReturnMean === 'number').map((p) => p.evalReturnMean);
  const evaluated = typeof last.evalReturnMean === 'number' ? { evalReturnMean: evals.at(-1), previousEvalReturnMean: evals.at(-2) } : {};
  return stopReason(cfg.stop, { iteration: last.iteration, envSteps: last.envSteps, wallSeconds: last.wallSeconds, episodeReturnMean: last.episodeReturnMean, ...evaluated }) ?? 'interrupted';
}

/**
 * `rl train --config F --seed S --run-dir D --resume auto` as a child process, its output to
 * `logFile` (appended to with `append`): a finished run exits at once, an interrupted one goes
 * on. Returns the process's seconds; throws, naming the log, when it fails.
 */
export function trainResuming(configFile: string, seed: number, runDir: string, logFile: string, append: boolean): number {
  const log = fs.openSync(logFile, append ? 'a' : 'w');
  const start = performance.now();
  const train = spawnSync(process.execPath, [cli, 'train', '--config', configFile, '--seed', String(seed), '--run-dir', runDir, '--resume', 'auto'], { cwd: root, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  if (train.status !== 0) throw new Error(`${path.basename(configFile, '.yaml')} seed ${seed}: rl train exited ${train.status ?? train.signal}; see ${path.relative(root, logFile)}`);
  return (performance.now() - start) / 1000;
}

function runOne(name: string, seed: number, opts: { runRoot: string; reuse: boolean }): SuiteRow {
  const configFile = path.join(root, 'configs', `${name}.yaml`);
  const cfg = loadConfig(configFile);
  const runDir = path.join(opts.runRoot, `${name}-s${seed}`);
  if (!opts.reuse) fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(opts.runRoot, { recursive: true });
  // --resume auto: a run dir left by an earlier (or interrupted) suite is finished or continued; an empty one starts fresh.
  const logFile = path.join(opts.runRoot, `${name}-s${seed}.log`);
  const processSeconds = trainResuming(configFile, seed, runDir, logFile, opts.reuse);
  const matchBars = cfg.multiAgent ? MATCH_BARS[name] : undefined;
  if (cfg.multiAgent && !matchBars) throw new Error(`${name}: a multi-agent config without bars in MATCH_BARS (bench/solve-suite.ts)`);
  const args = matchBars ? ['--episodes', String(matchBars.games), ...matchBars.bars.flatMap((b) => ['--opponent', b.opponent]), ...(cfg.evaluation.deterministic ? [] : ['--stochastic'])] : ['--episodes', '100'];
  const evaluation = spawnSync(process.execPath, [cli, 'evaluate', '--checkpoint', runDir, ...args, '--json'], { cwd: root, encoding: 'utf8' });
  if (evaluation.status !== 0) throw new Error(`${name} seed ${seed}: rl evaluate exited ${evaluation.status}: ${evaluation.stderr.trim()}`);
  const matches = matchBars && matchCells(JSON.parse(evaluation.stdout) as MatchReport, matchBars.bars, (b) => builtinTeamReturn(cfg, b, matchBars.games));
  const result = matches ? meanAndStd(matches.map((m) => m.returnMean)) : (JSON.parse(evaluation.stdout) as { returnMean: number; returnStd: number });
  const progress = fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  const last = progress[progress.length - 1];
  const best = bestCheckpoint(runDir);
  const kept = best ? readMetadata(best) : undefined;
  const { threshold, thresholdFrom } = matches ? { threshold: matches[0].bar, thresholdFrom: matchBars!.from } : thresholdOf(cfg, name);
  const trained = !/the run is finished/.test(fs.readFileSync(logFile, 'utf8').trim().split('\n').at(-1) ?? '');
  return {
    config: name,
    seed,
    envSteps: last.envSteps,
    wallSeconds: last.wallSeconds,
    stopReason: stopOf(cfg, progress),
    checkpoint: kept ? { kind: 'best', envSteps: kept.envSteps, iteration: kept.iteration } : { kind: 'latest', envSteps: last.envSteps, iteration: last.iteration },
    evalReturnMean: result.returnMean,
    evalReturnStd: result.returnStd,
    threshold,
    thresholdFrom,
    pass: matches ? matches.every((m) => m.pass) : result.returnMean >= threshold,
    ...(matches ? { matches } : {}),
    ...(trained ? { processSeconds } : {}),
  };
}

const fmtSteps = (n: number) => n.toLocaleString('en-US');
const shortStop = (r: string) => r.replace(/ \(two evaluations in a row\)/, ' (2 in a row)');

/** The table's cells, one array per row, with its header first. */
function cells(rows: SuiteRow[]): string[][] {
  const head = ['config', 'seed', 'env steps', 'wall s', 'stop reason', 'policy evaluated', 'rl evaluate (100 ep.; matches: per seat)', 'pass'];
  return [
    head,
    ...rows.map((r) => [
      r.config,
      String(r.seed),
      fmtSteps(r.envSteps),
      r.wallSeconds.toFixed(0),
      shortStop(r.stopReason),
      r.checkpoint.kind === 'best' ? `best, at ${fmtSteps(r.checkpoint.envSteps)}` : 'final',
      r.matches ? describeMatches(r.matches) : `${r.evalReturnMean.toFixed(1)} ± ${r.evalReturnStd.toFixed(1)}`,
      `${r.pass ? 'yes' : 'NO'} (${r.matches ? describeBars(r.matches) : `>= ${r.threshold}`}${r.thresholdFrom === 'env' ? '' : `, ${{ stop: 'stop rule', paper: 'paper', target: 'target', baseline: 'baseline' }[r.thresholdFrom]}`})`,
    ]),
  ];
}

/** A multi-agent row's score: per opponent, the win rates (`random 99.5 / 98.0% won`) or mean returns (`self -0.62`) of its seats, in seat order. */
function describeMatches(matches: MatchCell[]): string {
  const opponents = [...new Set(matches.map((m) => m.opponent))];
  return opponents
    .map((o) => {
      const of = matches.filter((m) => m.opponent === o);
      return of[0].measure === 'winRate' ? `${o} ${of.map((m) => (100 * m.winRate).toFixed(1)).join(' / ')}% won` : `${o} ${of.map((m) => m.returnMean.toFixed(2)).join(' / ')}`;
    })
    .join(', ');
}

/** A multi-agent row's bars, one per opponent: `>= 99% won vs random` or `>= -2.66 vs self`. */
function describeBars(matches: MatchCell[]): string {
  const firsts = [...new Map(matches.map((m) => [m.opponent, m])).values()];
  return firsts.map((m) => (m.measure === 'winRate' ? `>= ${+(100 * m.bar).toFixed(1)}% won vs ${m.opponent}` : `>= ${m.bar.toFixed(2)} vs ${m.opponent}`)).join(', ');
}

/** The mean and (population) standard deviation of some numbers. */
function meanAndStd(xs: number[]): { returnMean: number; returnStd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { returnMean: mean, returnStd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

/**
 * Each config's seeds together, as `rl tune --seeds` reports them (Agarwal et al. 2021): the
 * interquartile mean of the 100-episode scores and of the env steps at the stop, each with its
 * seeded percentile-bootstrap 95% interval, and how many seeds pass. With 3 seeds the IQM cuts
 * nothing (it is the mean), and the interval says how far 3 seeds pin it down.
 */
export function formatSummary(rows: SuiteRow[], markdown: boolean): string {
  const fmt = (s: SeedSummary, digits: number) => {
    const n = (x: number) => (digits === 0 ? fmtSteps(Math.round(x)) : x.toFixed(digits));
    return `${n(s.iqm)} [${n(s.ci95[0])}, ${n(s.ci95[1])}]`;
  };
  const table = [
    ['config', 'seeds', 'rl evaluate: IQM [95% CI]', 'env steps: IQM [95% CI]', 'pass'],
    ...[...new Set(rows.map((r) => r.config))].map((config) => {
      const of = rows.filter((r) => r.config === config);
      return [config, String(of.length), fmt(summarize(of.map((r) => r.evalReturnMean)), 1), fmt(summarize(of.map((r) => r.envSteps)), 0), `${of.filter((r) => r.pass).length}/${of.length}`];
    }),
  ];
  return layout(table, markdown, [1]);
}

export function formatTable(rows: SuiteRow[], markdown: boolean): string {
  return layout(cells(rows), markdown, [1, 2, 3]);
}

/** Rows of cells as a markdown table (`right`: the columns aligned right) or as padded text. */
function layout(table: string[][], markdown: boolean, right: number[]): string {
  if (markdown) {
    const line = (c: string[]) => `| ${c.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
    return [line(table[0]), `|${table[0].map((_, i) => (right.includes(i) ? ' ---: ' : ' --- ')).join('|')}|`, ...table.slice(1).map(line)].join('\n');
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((c) => c[i].length)));
  return table.map((c) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** Every shipped training config's name (configs/NAME.yaml; tune-*.yaml are tune files, for rl tune), sorted. */
function shippedConfigs(): string[] {
  return fs.readdirSync(path.join(root, 'configs')).filter((f) => f.endsWith('.yaml') && !f.startsWith('tune-')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

export function solveSuite(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      configs: { type: 'string' },
      seeds: { type: 'string', default: '0,1,2' },
      reuse: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      table: { type: 'boolean', default: false },
      'run-root': { type: 'string', default: path.join(root, 'runs', 'suite') },
    },
  });
  const shipped = shippedConfigs();
  const configs = values.configs ? values.configs.split(',').map((c) => path.basename(c.trim(), '.yaml')) : shipped;
  for (const c of configs) if (!shipped.includes(c)) throw new Error(`--configs: "${c}" is not a shipped config (configs/*.yaml: ${shipped.join(', ')})`);
  const seeds = values.seeds.split(',').map((s) => {
    if (!/^\d+$/.test(s.trim())) throw new Error(`--seeds: "${s}" is not a whole number`);
    return Number(s);
  });
  if (values.table) {
    const rows = keptRows().filter((r) => configs.includes(r.config) && seeds.includes(r.seed));
    console.log(`${formatTable(rows, values.markdown)}\n\n${formatSummary(rows, values.markdown)}\n\n${rows.filter((r) => r.pass).length}/${rows.length} pass`);
    return;
  }
  console.log(`\n== solve suite: ${configs.length} configs x seeds ${seeds.join(', ')}, one training at a time (runs in ${path.relative(root, values['run-root'])}) ==`);
  const rows: SuiteRow[] = [];
  for (const config of configs) {
    for (const seed of seeds) {
      const row = runOne(config, seed, { runRoot: values['run-root'], reuse: values.reuse });
      rows.push(row);
      console.log(formatTable([row], false).split('\n')[1]);
      // After every run, so that a suite stopped part-way keeps what it measured (`--table` prints it).
      writeBenchJson('solve-suite', { rows: merged(keptRows(), [row]) });
    }
  }
  console.log(`\n${formatTable(rows, values.markdown)}\n\n${formatSummary(rows, values.markdown)}\n\n${rows.filter((r) => r.pass).length}/${rows.length} pass`);
}

const jsonFile = path.join(root, 'runs', 'bench', 'solve-suite.json');

/** The rows earlier suites wrote (runs/bench/solve-suite.json), or none. */
function keptRows(): SuiteRow[] {
  if (!fs.existsSync(jsonFile)) return [];
  const rows = (JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { rows?: SuiteRow[] }).rows;
  return Array.isArray(rows) ? rows : [];
}

/** `old` with each of `fresh` in place of the row of its config and seed, in shipped-config order. */
export function merged(old: SuiteRow[], fresh: SuiteRow[]): SuiteRow[] {
  const key = (r: SuiteRow) => `${r.config}\0${r.seed}`;
  const byKey = new Map(old.map((r) => [key(r), r]));
  for (const r of fresh) byKey.set(key(r), r);
  return [...byKey.values()].sort((a, b) => a.config.localeCompare(b.config) || a.seed - b.seed);
}
