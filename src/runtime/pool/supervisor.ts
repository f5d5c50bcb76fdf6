import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { KeyPair } from '../../transport/curve';

export interface SupervisorOptions {
  /** Worker processes to keep running, one per slot. */
  numWorkers: number;
  /** The ROUTER endpoint they connect to (ipc). */
  connect: string;
  /** CURVE: the key pair spawned workers use, and the learner's public key. */
  keys?: { pair: KeyPair; learnerKey: string };
  /** The run's env module's folder, if its env is a module: this learner spawned them, so they may load it (and nothing else of the disk). */
  envDir?: string;
  /** `workers.inference`, for each process's `--inference`. */
  inference?: string;
  maxRestarts: number;
  log: (line: string) => void;
  /** A slot's process is gone (`how`: its exit code or signal); called before any restart is planned. */
  onExit: (slot: number, how: string) => void;
}

interface Slot {
  child: ChildProcess | null;
  restarts: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Process supervision: one `rl worker` child process per slot, restarted with an exponential
 * backoff (0.25 s doubling to 10 s) when it exits, at most `maxRestarts` times per slot.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private closed = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.slots = Array.from({ length: opts.numWorkers }, () => ({ child: null, restarts: 0, timer: null }));
  }

  start(): void {
    this.slots.forEach((_, i) => this.spawn(i));
  }

  /** A slot's current process (pid) and how often the slot was restarted; null: no such slot. */
  process(slot: number): { pid: number | undefined; restarts: number } | null {
    const s = this.slots[slot];
    return s ? { pid: s.child?.pid, restarts: s.restarts } : null;
  }

  /** Kills a hung or failing slot's process; its exit restarts it. */
  kill(slot: number): void {
    this.slots[slot]?.child?.kill('SIGKILL');
  }

  /** Every slot has no process and no restart left. */
  get spent(): boolean {
    return this.slots.length > 0 && this.slots.every((s) => s.child === null && s.timer === null && s.restarts >= this.opts.maxRestarts);
  }

  private spawn(slot: number): void {
    const s = this.slots[slot];
    s.timer = null;
    if (this.closed) return;
    const args = [path.join(__dirname, '..', '..', 'cli.js'), 'worker', '--connect', this.opts.connect, '--slot', String(slot)];
    if (this.opts.envDir) args.push('--env-dir', this.opts.envDir);
    if (this.opts.inference) args.push('--inference', this.opts.inference);
    const env = { ...process.env };
    if (this.opts.keys) env.RL_WORKER_KEYS = JSON.stringify(this.opts.keys);
    // Its own process group: Ctrl-C in the terminal reaches the learner, which stops its workers.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env, detached: true });
    child.on('error', (err) => this.opts.log(`worker slot ${slot}: could not start a process: ${err.message}`));
    s.child = child;
    child.once('exit', (code, signal) => {
      s.child = null;
      const how = signal ?? `code ${code}`;
      if (this.closed) return;
      if (s.restarts >= this.opts.maxRestarts) {
        this.opts.log(`worker slot ${slot} exited (${how}) and has used its ${this.opts.maxRestarts} restarts`);
        this.opts.onExit(slot, how);
        return;
      }
      const delay = Math.min(10, 0.25 * 2 ** Math.min(s.restarts, 6));
      s.restarts += 1;
      this.opts.log(`worker slot ${slot} (pid ${child.pid}) exited (${how}); restarting in ${delay} s (restart ${s.restarts} of ${this.opts.maxRestarts})`);
      s.timer = setTimeout(() => this.spawn(slot), delay * 1000);
      this.opts.onExit(slot, how);
    });
  }

  /** Total restarts so far. */
  get restarts(): number {
    return this.slots.reduce((sum, s) => sum + s.restarts, 0);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 3 s) and plans no restart. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map((s) => {
        if (s.timer) clearTimeout(s.timer);
        s.timer = null;
        const child = s.child;
        if (!child) return Promise.resolve();
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 3000);
        return new Promise<void>((r) => child.once('exit', () => (clearTimeout(hard), r())));
      }),
    );
  }
}
