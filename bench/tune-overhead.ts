import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runSweep } from '../src/tune/sweep';
import { loadTuneFile } from '../src/tune/tune-file';
import { median } from './bench-json';

/**
 * `node dist/bench/run.js tune-overhead [--trials 16] [--iterations 3] [--concurrency 2] [--local runners|processes]`:
 * a sweep of trivial PPO CartPole trials (256 env steps an iteration), and where its wall time
 * goes: the trials' own training (each run's wallSeconds, from its first iteration's start to its
 * last record), their start and end (in a runner: config, env, model, checkpoint; as a process:
 * node and tfjs besides), and the scheduler's slots left empty (the tuner's polling and
 * bookkeeping, the runners' start).
 */
export async function tuneOverhead(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string', default: '16' }, iterations: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '2' }, local: { type: 'string', default: 'runners' } } });
  const local = values.local === 'processes' ? 'processes' : 'runners';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-tune-overhead-'));
  try {
    const file = path.join(tmp, 'trivial.yaml');
    fs.writeFileSync(
      file,
      [
        `base: { algorithm: ppo, env: { id: CartPole-v1 }, workers: { envsPerWorker: 4, rolloutLength: 64 }, ppo: { numEpochs: 2, minibatchSize: 64 }, stop: { iterations: ${Number(values.iterations)} } }`,
        'space: { ppo.lr: { loguniform: [1.0e-4, 1.0e-2] } }',
        `budget: { trials: ${Number(values.trials)} }`,
        `concurrency: ${Number(values.concurrency)}`,
      ].join('\n'),
    );
    const spec = loadTuneFile(file);
    const start = performance.now();
    const result = await runSweep(spec, { sweepDir: path.join(tmp, 'sweep'), log: () => {}, local });
    const wall = (performance.now() - start) / 1000;
    const training = result.trials.map((t) => {
      const lines = fs.readFileSync(path.join(tmp, 'sweep', t.runDir, 'progress.jsonl'), 'utf8').trim().split('\n');
      return JSON.parse(lines[lines.length - 1]).wallSeconds as number;
    });
    const processes = result.trials.map((t) => t.wallSeconds);
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    const slots = spec.concurrency * wall;
    console.log(`\n== rl tune overhead: ${result.trials.length} trials of ${values.iterations} iterations, ${spec.concurrency} at once, ${local === 'runners' ? 'in long-lived local runners' : 'each an rl train process'} ==`);
    console.log(`sweep wall ${wall.toFixed(1)} s; per trial: process ${median(processes).toFixed(2)} s, training ${median(training).toFixed(2)} s (medians)`);
    console.log(`of the ${slots.toFixed(1)} slot-seconds: training ${((100 * sum(training)) / slots).toFixed(1)}%, trial start and end ${((100 * (sum(processes) - sum(training))) / slots).toFixed(1)}%, slots empty (the tuner, the runners' start) ${((100 * (slots - sum(processes))) / slots).toFixed(1)}%; outside training ${((100 * (slots - sum(training))) / slots).toFixed(1)}%`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
