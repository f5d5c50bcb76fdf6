import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentHub } from './agent-hub';

/**
 * A sweep's local trial runners: `n` long-lived `rl tune-agent` processes of one slot each, on
 * an ipc endpoint of their own, that run trial after trial in-process (tfjs loaded once) in the
 * sweep dir itself, so a trial costs no process start. They end with the tuner: at `stop()`, or
 * when its IPC channel closes (a tuner killed -9), each after its trial's iteration, with a
 * checkpoint. A runner that dies has its trial run again, as a lost agent's.
 */
/** A runner that ends by itself is started again this many times (then its slot stays empty). */
const MAX_RESTARTS = 3;

export class LocalRunners {
  readonly hub: AgentHub;
  private readonly children: ChildProcess[] = [];
  private readonly socket: string;

  constructor(
    private readonly n: number,
    private readonly sweepDir: string,
    private readonly rl: string[] | undefined,
    private readonly log: (line: string) => void,
  ) {
    // ipc paths are short (about 100 bytes): a temp file of its own, not one in the sweep dir.
    this.socket = path.join(os.tmpdir(), `rl-tune-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
    // Silence is no sign of loss here (an iteration may hold a runner's event loop): a runner is lost when its process ends.
    this.hub = new AgentHub({ bind: `ipc://${this.socket}`, timeoutSeconds: 1e9, local: true, log: () => {} }, sweepDir);
  }

  async start(): Promise<void> {
    await this.hub.start();
    for (let i = 0; i < this.n; i++) this.spawn(i, 0);
  }

  /** Runner `i`; one that ends before `stop()` is started again, up to MAX_RESTARTS times. */
  private spawn(i: number, restarts: number): void {
    const [cmd, ...pre] = this.rl ?? [process.execPath, path.join(__dirname, '..', 'cli.js')];
    const workDir = path.join(this.sweepDir, 'runners', String(i));
    fs.mkdirSync(workDir, { recursive: true });
    const out = fs.openSync(path.join(this.sweepDir, 'logs', `runner-${i}.log`), 'a');
    const args = [...pre, 'tune-agent', '--connect', `ipc://${this.socket}`, '--slots', '1', '--name', `runner${i}`, '--work-dir', workDir, '--runner-sweep-dir', this.sweepDir];
    const child = spawn(cmd, args, { stdio: ['ignore', out, out, 'ipc'] });
    fs.closeSync(out);
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) this.hub.lose(child.pid);
      if (this.stopped) return;
      const again = restarts < MAX_RESTARTS;
      this.log(`local trial runner ${i} (pid ${child.pid}) ended (${signal ?? `exit code ${code}`}; see logs/runner-${i}.log)${again ? '; starting another' : `, ${MAX_RESTARTS + 1} times: no more`}`);
      if (again) this.spawn(i, restarts + 1);
    });
    this.children.push(child);
  }

  private stopped = false;

  /** Ends the runners (each after its trial's iteration, with a checkpoint) and closes the hub. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    await this.hub.close(0);
    fs.rmSync(this.socket, { force: true });
    fs.rmSync(path.join(this.sweepDir, 'runners'), { recursive: true, force: true });
  }
}
