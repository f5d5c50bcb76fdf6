import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configToYaml } from '../config/load';
import type { RunConfig } from '../config/schema';
import type { TrialRecord, TrialStatus } from './results';
import type { Params } from './space';
import { readTrialProgress, type TrialProgress } from './trial-progress';

/*
 * One trial's process: started as `rl train --resume auto`, stopped with SIGTERM, and its record
 * once it has ended.
 */

/** One trial to run: a configuration and a seed. */
export interface PlannedTrial {
  /** `t<index>-s<seed>`: its run dir is trials/<id>. */
  id: string;
  /** The configuration's index. */
  index: number;
  /** The run's seed. */
  seed: number;
  /** Its values: a PBT member's change as it explores. */
  params: Params;
  /** The training config it runs (written to configs/<id>.yaml at each start). */
  config: RunConfig;
  /** PBT: the iteration this launch ends at (its stop.iterations). */
  boundary?: number;
  /** PBT: when its first interval started (Unix seconds). */
  firstStart?: number;
}

/** A trial whose process runs. */
export interface Running extends PlannedTrial {
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

/** Starts `rl train --resume auto` for a trial: a fresh run, or the continuation of its last checkpoint. */
export function launch(t: PlannedTrial, dir: string, rl: string[] | undefined, onExit: () => void): Running {
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
export function stop(r: Running, why: 'scheduler' | 'budget'): void {
  if (r.stoppedBy || r.exit) return;
  r.stoppedBy = why;
  r.child.kill('SIGTERM');
}

/** The record of a trial whose process ended. */
export function finish(r: Running, dir: string): TrialRecord {
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
