/**
 * `node dist/bench/run.js slow-worker`: what one slow worker costs APPO (the `queue` schedule)
 * and PPO (`sync`), back to back. Two workers sample LunarLander-v3 at the shipped configs'
 * settings (`appo-lunarlander-workers.yaml`, `ppo-lunarlander-workers.yaml`), one spawned by the
 * learner and one `rl worker` joining it on loopback; every env step sleeps STEP_MS, so a worker
 * samples at a set pace and the two cores are not what is measured (the "by
 * simulation"). Then the joining worker's steps sleep ten times as long: it samples at a tenth
 * of the other's pace. A worker that holds nobody back leaves 1 + 1/10 of the two fast workers'
 * throughput, 55%; a learner that waits for every worker drops to the slow one's pace.
 *
 * Each run trains for WALL_SECONDS; its rate is the env steps trained from the end of its first
 * iteration (the start-up and the first weights) to the end of its last, over that time.
 * ROUNDS rounds, the four runs interleaved in each; medians.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { moduleEnvId } from '../src/env-loader';
import { train } from '../src/runtime/learner';
import { freePort } from '../test/helpers/free-port';
import { startWorker } from '../test/helpers/cli';
import { pacedEnvModule } from '../test/helpers/paced-env';
import { progress } from '../test/helpers/progress';
import { median, writeBenchJson } from './bench-json';

const root = path.resolve(__dirname, '..', '..');
/** Sleep per env step of a fast worker (ms): 8 envs a worker, so about 1,000 steps/s each. */
const STEP_MS = 1;
const SLOWDOWN = 10;
const WALL_SECONDS = 50;
const ROUNDS = 3;
const ALGORITHMS = [
  { name: 'appo', config: 'configs/appo-lunarlander-workers.yaml', overrides: ['appo.stepsPerIteration=4096'] },
  // The config's batch is its two workers' 2 x 8 x 256; one of the two is spawned here.
  { name: 'ppo', config: 'configs/ppo-lunarlander-workers.yaml', overrides: ['ppo.trainBatchSize=4096'] },
];

export interface SlowWorkerRow {
  algorithm: string;
  /** Whether the joining worker sleeps SLOWDOWN times as long a step. */
  slow: boolean;
  round: number;
  envStepsPerSecond: number;
  /** The slowest and the fastest worker's sampling rate (steps/s), as the run's last row reports them. */
  workerStepsPerSecondMin: number;
  workerStepsPerSecondMax: number;
  iterations: number;
}

/** LunarLander whose steps sleep RL_BENCH_STEP_MS each. */
function envModule(dir: string): string {
  return pacedEnvModule(dir, { file: 'paced-lunar-lander.ts', exportName: 'PacedLunarLander', envId: 'LunarLander-v3', envVar: 'RL_BENCH_STEP_MS' });
}

async function once(dir: string, file: string, algorithm: (typeof ALGORITHMS)[number], slow: boolean, round: number): Promise<SlowWorkerRow> {
  const port = await freePort();
  const runDir = path.join(dir, `${algorithm.name}-${slow ? 'slow' : 'fast'}-${round}`);
  const joining = startWorker(['--connect', `tcp://127.0.0.1:${port}`, '--envs', '8', '--env-dir', dir], { env: { RL_BENCH_STEP_MS: String(slow ? STEP_MS * SLOWDOWN : STEP_MS) } });
  try {
    const cfg = loadConfig(path.join(root, algorithm.config), [
      ...algorithm.overrides,
      'workers.numWorkers=1',
      'workers.workerTimeoutSeconds=60',
    ]);
    // No evaluation (its env would sleep too); the clock stops it (envSteps stays: the learning-rate schedule runs over it).
    const run = { ...cfg, env: { ...cfg.env, id: moduleEnvId(file, 'PacedLunarLander') }, evaluation: { ...cfg.evaluation, every: 0 }, checkpoint: { ...cfg.checkpoint, best: false }, stop: { envSteps: cfg.stop.envSteps, wallSeconds: WALL_SECONDS } };
    await train(run, { runDir, bind: `tcp://127.0.0.1:${port}`, log: () => {} });
  } finally {
    joining.child.kill('SIGTERM');
    await joining.exited();
  }
  const rows = progress(runDir).filter((r) => r.liveWorkers === 2);
  if (rows.length < 2) throw new Error(`${runDir}: ${rows.length} iterations with both workers live; the run is too short to measure`);
  const [first, last] = [rows[0], rows.at(-1)!];
  return {
    algorithm: algorithm.name,
    slow,
    round,
    envStepsPerSecond: (last.envSteps - first.envSteps) / (last.wallSeconds - first.wallSeconds),
    workerStepsPerSecondMin: last.workerStepsPerSecondMin,
    workerStepsPerSecondMax: last.workerStepsPerSecondMax,
    iterations: rows.length,
  };
}

export async function slowWorkerBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-slow-worker-'));
  // The spawned worker inherits the learner's environment: it samples at the fast pace.
  process.env.RL_BENCH_STEP_MS = String(STEP_MS);
  console.log(`\n== slow-worker: two workers of 8 LunarLander envs at ${STEP_MS} ms a step; then one at ${STEP_MS * SLOWDOWN} ms; ${WALL_SECONDS} s a run, ${ROUNDS} rounds, interleaved ==`);
  const rows: SlowWorkerRow[] = [];
  try {
    const file = envModule(dir);
    for (let round = 0; round < ROUNDS; round++) {
      for (const algorithm of ALGORITHMS) {
        for (const slow of [false, true]) {
          const row = await once(dir, file, algorithm, slow, round);
          rows.push(row);
          console.log(
            `round ${round} ${row.algorithm.padEnd(4)} ${slow ? 'one slow' : 'both fast'}: ${row.envStepsPerSecond.toFixed(0)} env steps/s over ${row.iterations} iterations ` +
              `(workers ${row.workerStepsPerSecondMin.toFixed(0)} to ${row.workerStepsPerSecondMax.toFixed(0)} steps/s)`,
          );
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('algorithm  both fast  one slow  kept   (1 + 1/10) / 2 = 55% if nobody waits');
  const summary = ALGORITHMS.map(({ name }) => {
    const rate = (slow: boolean) => median(rows.filter((r) => r.algorithm === name && r.slow === slow).map((r) => r.envStepsPerSecond));
    const keptPerRound = [...Array(ROUNDS).keys()].map((round) => {
      const of = (slow: boolean) => rows.find((r) => r.algorithm === name && r.slow === slow && r.round === round)!.envStepsPerSecond;
      return of(true) / of(false);
    });
    const s = { algorithm: name, bothFast: rate(false), oneSlow: rate(true), kept: median(keptPerRound) };
    console.log(`${name.padEnd(9)}  ${s.bothFast.toFixed(0).padStart(9)}  ${s.oneSlow.toFixed(0).padStart(8)}  ${(100 * s.kept).toFixed(0).padStart(3)}%`);
    return s;
  });
  writeBenchJson('slow-worker', { stepMs: STEP_MS, slowdown: SLOWDOWN, wallSeconds: WALL_SECONDS, rounds: ROUNDS, load: os.loadavg(), rows, summary });
}
