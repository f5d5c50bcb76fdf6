import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

/**
 * Hosts for integration tests, made of Linux namespaces: each host is a network namespace
 * with its own stack (`lo` and `eth0`, an address 10.x.y.N/24), cabled to a bridge in a
 * namespace of its own (the switch); a process runs on a host in a fresh mount and UTS
 * namespace, with its own hostname and, if asked, some of this machine's directories hidden
 * under an empty tmpfs (a machine that lacks them). Needs root and `ip netns`; see
 * `netnsProblem()`. Everything made is named `<prefix>-...` and removed by `destroy()`, and
 * `removeLeftovers()` clears what a crashed earlier run of the same prefix left.
 */

/** Why this machine cannot run namespace tests (not root, no `ip`, no `unshare`, netns refused), or null if it can. */
export function netnsProblem(probeName = `rlt-${process.pid}-probe`): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces need root (uid ${process.getuid?.()})`;
  for (const tool of ['ip', 'unshare', 'mount']) {
    if (!commandExists(tool)) return `\`${tool}\` is not installed (iproute2 / util-linux)`;
  }
  try {
    sh('ip', ['netns', 'add', probeName]);
  } catch (err) {
    return `\`ip netns add\` fails here: ${firstLine(err)}`;
  }
  try {
    sh('ip', ['netns', 'exec', probeName, 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /mnt && hostname probe']);
  } catch (err) {
    return `\`unshare --mount --uts\` with a tmpfs fails inside a network namespace: ${firstLine(err)}`;
  } finally {
    trySh('ip', ['netns', 'del', probeName]);
  }
  return null;
}

/** A command run on a host: its output gathered, waited on by pattern, killed with its process group. */
export class HostProcess {
  private text = '';
  private readonly exit: Promise<number | string>;

  constructor(
    /** For messages: which process this is. */
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (d) => (this.text += d));
    child.stderr!.on('data', (d) => (this.text += d));
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  }

  /** The pid of the command itself (`ip netns exec`, `unshare` and `sh` all exec into it). */
  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The exit code, or the signal's name; null while it runs. */
  exitCode(): number | string | null {
    return this.child.exitCode ?? this.child.signalCode;
  }

  output(): string {
    return this.text;
  }

  /** Its last `lines` lines of output, labelled, for an assertion's message. */
  tail(lines = 25): string {
    return `--- ${this.label} (pid ${this.pid}${this.running ? '' : `, exited ${this.child.exitCode ?? this.child.signalCode}`}), last ${lines} lines:\n${this.text.split('\n').slice(-lines - 1).join('\n')}`;
  }

  /** Resolves with the exit code (or the signal's name). */
  exited(): Promise<number | string> {
    return this.exit;
  }

  /** Signals the whole process group (the command was started as its leader). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** What `Hosts.exec` runs a command with. */
export interface ExecOptions {
  /** Directories of this machine the command must not see: each gets an empty tmpfs over it, in the command's own mount namespace. */
  hideDirs?: string[];
  /** Paths whose absence the command's shell reports first, one line each: `netns: absent PATH` (or `netns: present PATH`). */
  reportAbsent?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** For messages; default the host's name and the command's first word. */
  label?: string;
}

/**
 * A few hosts on one switch: `Hosts.create(prefix, ['learner', 'w1'])`. Host i (from 1) has
 * address `${subnet}.${i}`; the switch is a bridge in namespace `<prefix>-sw`, and each host's
 * cable is a veth pair: `eth0` in the host, the host's name on the switch.
 */
export class Hosts {
  readonly processes: HostProcess[] = [];
  private readonly made: string[] = [];
  private unhook = () => {};

  private constructor(
    readonly prefix: string,
    readonly names: string[],
    /** The first three octets, e.g. `10.217.42`. */
    readonly subnet: string,
  ) {}

  static create(prefix: string, names: string[], subnet = `10.${200 + Math.floor(Math.random() * 51)}.${process.pid % 250}`): Hosts {
    for (const n of names) if (!/^[a-z][a-z0-9]{0,9}$/.test(n)) throw new Error(`host name ${n}: lower-case letters and digits, at most 10 (it names a veth on the switch)`);
    const hosts = new Hosts(prefix, names, subnet);
    // If the test process exits or is interrupted before destroy() (an uncaught error, Ctrl-C), the hosts go with it.
    const atExit = () => hosts.destroyNow();
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const onSignal = (signal: NodeJS.Signals) => {
      hosts.destroyNow();
      hosts.unhook();
      process.kill(process.pid, signal); // as if no one had listened
    };
    process.once('exit', atExit);
    for (const sig of signals) process.once(sig, onSignal);
    hosts.unhook = () => {
      process.removeListener('exit', atExit);
      for (const sig of signals) process.removeListener(sig, onSignal);
    };
    try {
      const sw = hosts.add('sw');
      sh('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
      names.forEach((name, i) => {
        const ns = hosts.add(name);
        sh('ip', ['-n', sw, 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        sh('ip', ['-n', sw, 'link', 'set', name, 'master', 'br0', 'up']);
        sh('ip', ['-n', ns, 'addr', 'add', `${subnet}.${i + 1}/24`, 'dev', 'eth0']);
        sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      });
    } catch (err) {
      hosts.removeNamespaces();
      throw err;
    }
    return hosts;
  }

  /** The network namespace of `name`. */
  namespace(name: string): string {
    if (name !== 'sw' && !this.names.includes(name)) throw new Error(`no host ${name} (hosts: ${this.names.join(', ')})`);
    return `${this.prefix}-${name}`;
  }

  address(name: string): string {
    const i = this.names.indexOf(name);
    if (i < 0) throw new Error(`no host ${name} (hosts: ${this.names.join(', ')})`);
    return `${this.subnet}.${i + 1}`;
  }

  /** Plugs `name`'s cable in or out at the switch: the host keeps its address and its connections, and nothing gets through. */
  link(name: string, state: 'up' | 'down'): void {
    sh('ip', ['-n', this.namespace('sw'), 'link', 'set', name, state]);
  }

  /**
   * Starts `argv` on host `name`, as the leader of a new process group, in fresh mount and UTS
   * namespaces (hostname `name`, `hideDirs` under empty tmpfs). The command's pid is the
   * returned process's pid: every wrapper execs into the next.
   */
  exec(name: string, argv: string[], opts: ExecOptions = {}): HostProcess {
    const hide = (opts.hideDirs ?? []).map((d) => `mount -t tmpfs -o size=1m none ${quote(d)} || exit 97`);
    const report = (opts.reportAbsent ?? []).map((p) => `if [ -e ${quote(p)} ]; then echo ${quote(`netns: present ${p}`)}; else echo ${quote(`netns: absent ${p}`)}; fi`);
    const script = [`hostname ${quote(name)}`, ...hide, ...report, 'exec "$@"'].join('\n');
    const child = spawn('ip', ['netns', 'exec', this.namespace(name), 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true, // its own process group, killed whole
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new HostProcess(opts.label ?? `${name}: ${argv.slice(0, 3).join(' ')}`, child);
    this.processes.push(p);
    return p;
  }

  /** Every process's tail, for an assertion's message. */
  tails(lines = 25): string {
    return this.processes.map((p) => p.tail(lines)).join('\n');
  }

  /** Kills every process started here (SIGKILL to each group), waits for them, and deletes the namespaces (their veths and the bridge go with them). */
  async destroy(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    await Promise.race([Promise.all(this.processes.map((p) => p.exited())), new Promise((r) => setTimeout(r, 5000))]);
    this.removeNamespaces();
    this.unhook();
  }

  /** The same, synchronously (at process exit): what still runs in a namespace is killed as it is deleted. */
  private destroyNow(): void {
    for (const p of this.processes) p.kill('SIGKILL');
    this.removeNamespaces();
  }

  private add(name: string): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.made.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  private removeNamespaces(): void {
    for (const ns of this.made.splice(0)) removeNamespace(ns);
  }
}

/**
 * Removes the namespaces named `<base>-<pid>-...` whose test process `pid` is gone (a run that
 * crashed before its cleanup), and kills what still runs in them. Returns their names.
 */
export function removeLeftovers(base: string): string[] {
  const removed: string[] = [];
  const list = trySh('ip', ['netns', 'list']) ?? '';
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    const m = new RegExp(`^${base}-(\\d+)-`).exec(ns);
    if (!m || isAlive(Number(m[1]))) continue;
    removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

function removeNamespace(ns: string): void {
  for (const pid of (trySh('ip', ['netns', 'pids', ns]) ?? '').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  trySh('ip', ['netns', 'del', ns]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function trySh(cmd: string, args: string[]): string | undefined {
  try {
    return sh(cmd, args);
  } catch {
    return undefined;
  }
}

function commandExists(tool: string): boolean {
  return trySh('sh', ['-c', `command -v ${tool}`]) !== undefined;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message: string };
  return (e.stderr?.trim() || e.message).split('\n')[0];
}

/** A POSIX shell single-quoted word. */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
