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
  /** Where it ran so far, a launch each (`local`, `agent NAME (pid N)`). */
  ranOn?: string[];
  /** How many times its agent or runner was lost under it. */
  losses?: number;
}

/** Where a trial runs, and how it is stopped (it ends after its iteration, with a checkpoint). */
export interface TrialHandle {
  /** `local`, or `agent NAME (pid N)`. */
  place: string;
  stop(): void;
}

/** A trial whose process runs. */
export interface Running extends PlannedTrial {
  handle: TrialHandle;
  startTime: number;
  /** Why the sweep stopped it, if it did: the scheduler at a rung, or the sweep's wall time. */
  stoppedBy?: 'scheduler' | 'budget';
  rungs: Record<string, number | null>;
  progress: TrialProgress;
  /** The size of its log when it started: what it wrote since is this launch's. */
  logOffset: number;
  /** How it ended; `lost`: its agent was lost, and it runs again elsewhere. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; error?: string; lost?: boolean };
  /** On an agent: the launch's number, which the agent's messages about it carry. */
  attempt?: number;
  /** Called when it ends (a remote trial's end comes as a message). */
  onExit?: () => void;
}

/** Starts `rl train --resume auto` for a trial: a fresh run, or the continuation of its last checkpoint. */
export function launch(t: PlannedTrial, dir: string, rl: string[] | undefined, onExit: () => void): Running {
  const configFile = path.join(dir, 'configs', `${t.id}.yaml`);
  fs.writeFileSync(configFile, configToYaml(t.config));
  const logFile = path.join(dir, 'logs', `${t.id}.log`);
  const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const child = spawnTrain(rl, configFile, path.join(dir, 'trials', t.id), logFile);
  const r: Running = { ...t, handle: { place: 'local', stop: () => child.kill('SIGTERM') }, startTime: Date.now() / 1000, rungs: {}, progress: readTrialProgress('', ''), logOffset };
  r.ranOn = [...(t.ranOn ?? []), 'local'];
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

/**
 * `rl train --config CONFIG --run-dir RUN_DIR --resume auto`, its output appended to `logFile`:
 * a fresh run, or the continuation of the run dir's newest checkpoint. `rl` is the program and
 * arguments before `train` (default: this node and rl's cli.js).
 */
export function spawnTrain(rl: string[] | undefined, configFile: string, runDir: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const [cmd, ...pre] = rl ?? [process.execPath, path.join(__dirname, '..', 'cli.js')];
  const args = [...pre, 'train', '--config', configFile, '--run-dir', runDir, '--resume', 'auto'];
  // The IPC channel tells the trial when its parent dies (kill -9): it then checkpoints and ends.
  const child = spawn(cmd, args, { stdio: ['ignore', out, out, 'ipc'] });
  fs.closeSync(out);
  return child;
}

/** Stops a trial (rl train ends after its iteration, with a checkpoint); once. */
export function stop(r: Running, why: 'scheduler' | 'budget'): void {
  if (r.stoppedBy || r.exit) return;
  r.stoppedBy = why;
  r.handle.stop();
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
    ranOn: r.ranOn ?? [],
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
