import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTrials } from '../tune/results';
import { readTrialProgress } from '../tune/trial-progress';

/** Whether `dir` is a sweep dir of `rl tune` (it holds sweep.json). */
export function isSweepDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'sweep.json'));
}

/**
 * What `rl view SWEEP_DIR`'s page asks for: the sweep's metric and space (sweep.json), its
 * finished trials (trials.jsonl), and the trials started but not finished (a config in
 * configs/ and no record) with their progress so far, as `running`.
 */
export function sweepInfo(dir: string): Record<string, unknown> {
  const sweep = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { metric: string; mode: string; space: unknown[]; configs: Record<string, unknown>[] };
  const finished = readTrials(path.join(dir, 'trials.jsonl'));
  const trials: object[] = [...finished.values()];
  const configs = path.join(dir, 'configs');
  const started = fs.existsSync(configs) ? fs.readdirSync(configs).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)) : [];
  for (const id of started.filter((i) => !finished.has(i)).sort()) {
    const m = /^t(\d+)-s(\d+)$/.exec(id);
    if (!m) continue;
    const p = readTrialProgress(path.join(dir, 'trials', id, 'progress.jsonl'), sweep.metric);
    trials.push({ id, seed: Number(m[2]), params: sweep.configs[Number(m[1])] ?? {}, status: 'running', metric: Number.isFinite(p.metric) ? p.metric : null, envSteps: p.envSteps, wallSeconds: p.wallSeconds });
  }
  return { name: path.basename(path.resolve(dir)), metric: sweep.metric, mode: sweep.mode, space: sweep.space, trials };
}
