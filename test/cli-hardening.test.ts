import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointDue, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadConfig } from '../src/config/load';
import * as zmq from 'zeromq';
import { bindOrExplain } from '../src/transport/endpoint';
import { MAX_BATCH_ENVS, MAX_BATCH_LENGTH } from '../src/transport/limits';
import { generateKeys, readKeyPair } from '../src/transport/curve';
import { CheckpointError, ConfigError } from '../core/errors';
import { rl, root } from './helpers/cli';
import { fakeCheckpoint } from './helpers/fake-checkpoint';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-harden-'));
const cartpole = path.join(root, 'configs', 'ppo-cartpole.yaml');
// Small and quick: 4 envs x 64 steps per iteration.
const small = ['workers.envsPerWorker=4', 'workers.rolloutLength=64', 'ppo.minibatchSize=64', 'ppo.numEpochs=1'].flatMap((o) => ['--set', o]);

/** A quick run of `config` into `runDir` through the CLI; asserts it succeeded. */
function trainRun(config: string, runDir: string, extra: string[] = []) {
  const r = rl(['train', '--config', config, '--run-dir', runDir, ...small, '--set', 'stop.iterations=2', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

describe('CLI hardening (issue 11)', () => {
  describe('a run dir belongs to one run', () => {
    it('refuses to train a second config into a run dir that holds a run, leaving the first run as it was', () => {
      const dir = path.join(tmp, 'two-configs');
      trainRun('configs/ppo-acrobot.yaml', dir);
      const before = ['config.yaml', 'progress.jsonl'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
      const checkpoints = listCheckpoints(dir);
      const r = rl(['train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', dir, ...small, '--set', 'stop.iterations=1']);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `error: ${dir}: holds another run already (config.yaml, progress.jsonl, checkpoints); continue it with --resume ${dir}, or give a new --run-dir\n`);
      assert.deepEqual(['config.yaml', 'progress.jsonl'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), before);
      assert.deepEqual(listCheckpoints(dir), checkpoints);
      assert.equal(fs.existsSync(path.join(dir, '.rl-lock')), false, 'the first run released its lock');
    });

    it('refuses a run dir, or a --resume of it, while another live process holds its lock, and takes over a lock whose process is gone', async () => {
      const dir = path.join(tmp, 'locked');
      trainRun('configs/ppo-cartpole.yaml', dir);
      const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(path.join(dir, '.rl-lock'), JSON.stringify({ pid: holder.pid, host: os.hostname(), startedAt: 'earlier' }));
        const r = rl(['train', '--resume', dir, '--set', 'stop.iterations=3']);
        assert.equal(r.status, 2);
        assert.equal(r.stderr, `error: ${dir}: in use by another run (pid ${holder.pid} on ${os.hostname()}, started earlier); wait for it to end, or give another --run-dir (a lock left by a crash on another host: delete ${path.join(dir, '.rl-lock')})\n`);
      } finally {
        holder.kill('SIGKILL');
        await new Promise((resolve) => holder.once('exit', resolve));
      }
      // The holder is dead now: its lock is stale.
      const r = rl(['train', '--resume', dir, '--set', 'stop.iterations=3']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(path.basename(listCheckpoints(dir).at(-1)!), 'iter_000003');
      assert.equal(fs.existsSync(path.join(dir, '.rl-lock')), false);
    });
  });

  describe('checkpoints are ordered by iteration number', () => {
    it('keeps iter_1000003 and iter_1000002 over iter_999999, and `rl info` names iter_1000003 the latest', () => {
      const dir = path.join(tmp, 'million');
      for (const i of [999_999, 1_000_002, 1_000_003]) saveCheckpoint(dir, fakeCheckpoint(i), 2);
      assert.deepEqual(listCheckpoints(dir).map((d) => path.basename(d)), ['iter_1000002', 'iter_1000003']);
      const r = rl(['info', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /latest checkpoint: .*iter_1000003 \(iteration 1000003,/);
    });
  });

  describe('one line and exit 2 for bad input', () => {
    const cases: [string[], string][] = [
      [['--set', '__proto__.x=1'], '--set __proto__.x=1: "__proto__" is not a config key'],
      [['--set', 'ppo.constructor.prototype.x=1'], '--set ppo.constructor.prototype.x=1: "constructor" is not a config key'],
      [['--set', 'workers.envsPerWorker=1e12'], '--set workers.envsPerWorker=1e12: workers.envsPerWorker (1000000000000) must be <= 4096'],
      [['--set', 'workers.envsPerWorker=5000'], '--set workers.envsPerWorker=5000: workers.envsPerWorker (5000) must be <= 4096'],
      [['--set', 'workers.rolloutLength=1e9'], '--set workers.rolloutLength=1e9: workers.rolloutLength (1000000000) must be <= 65536'],
      [['--set', 'workers.envsPerWorker=4096', '--set', 'workers.rolloutLength=4096'], '--set workers.rolloutLength=4096: workers.envsPerWorker x workers.rolloutLength (4096 x 4096) must be <= 1048576 steps per batch'],
      [['--set', 'model.hiddenSizes=[1e6]'], '--set model.hiddenSizes=[1e6]: model.hiddenSizes.0 (1000000) must be <= 4096'],
      [['--set', 'env.id=Nope-v0'], '--set env.id=Nope-v0: env.id ("Nope-v0") is not a registered env; did you mean "Snake-v0"? (see `rl envs`, or name your env\'s file with env.module)'],
      [['--set', 'seed=.nan'], '--set seed=.nan: seed (NaN) must be a finite number'],
      [['--set', 'seed=1e400'], '--set seed=1e400: seed (Infinity) must be a finite number'],
      [['--seed', 'abc'], '--seed ("abc") must be a whole number >= 0'],
      [['--set', 'ppo=3'], '--set ppo=3: ppo (3) must be an object'],
      [['--bind', 'tcp://127.0.0.1:65535'], '--bind tcp://127.0.0.1:65535: the port (65535) must be from 1 to 65534 (the weights go out on port + 1)'],
      [['--bind', 'localhost:5555'], '--bind localhost:5555: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5555'],
    ];
    for (const [args, message] of cases) {
      it(`rl train ${args.join(' ')}`, () => {
        const r = rl(['train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', path.join(tmp, 'never'), ...args]);
        assert.equal(r.stderr, `error: ${message}\n`);
        assert.equal(r.status, 2);
        assert.equal(r.stdout, '', 'nothing started (no backend line)');
      });
    }

    const others: [string[], string][] = [
      [['worker', '--connect', 'foo'], "--connect foo: expected the learner's address, tcp://HOST:PORT (its --bind), or ipc://PATH"],
      [['check-env', 'CartPole-v1', '--steps', '-5'], '--steps ("-5") must be a whole number >= 1'],
      [['check-env', 'CartPole-v1', '--steps', 'abc'], '--steps ("abc") must be a whole number >= 1'],
      [['evaluate', '--checkpoint', 'x', '--episodes', '1.5'], '--episodes ("1.5") must be a whole number from 1 to 1000000'],
    ];
    for (const [args, message] of others) {
      it(`rl ${args.join(' ')}`, () => {
        const r = rl(args);
        assert.equal(r.stderr, `error: ${message}\n`);
        assert.equal(r.status, 2);
      });
    }

    it('asks for a command naming every command that `rl --help` lists', () => {
      const help = rl(['--help']);
      const listed = [...help.stdout.matchAll(/^  rl ([a-z-]+)/gm)].map((m) => m[1]);
      assert.ok(listed.includes('check-env') && listed.includes('view'), help.stdout);
      const r = rl([]);
      assert.equal(r.stderr, `error: name a command: ${listed.join(', ')} (rl --help)\n`);
      assert.equal(r.status, 2);
    });

    it('leaves Object.prototype alone when an override names __proto__', () => {
      assert.throws(() => loadConfig(cartpole, ['__proto__.polluted=1']), ConfigError);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it("caps envsPerWorker and rolloutLength at the protocol's limits exactly", () => {
      assert.equal(loadConfig(cartpole, [`workers.envsPerWorker=${MAX_BATCH_ENVS}`, 'workers.rolloutLength=2']).workers.envsPerWorker, MAX_BATCH_ENVS);
      assert.throws(() => loadConfig(cartpole, [`workers.envsPerWorker=${MAX_BATCH_ENVS + 1}`]), ConfigError);
      assert.equal(loadConfig(cartpole, ['workers.envsPerWorker=1', `workers.rolloutLength=${MAX_BATCH_LENGTH}`]).workers.rolloutLength, MAX_BATCH_LENGTH);
      assert.throws(() => loadConfig(cartpole, ['workers.envsPerWorker=1', `workers.rolloutLength=${MAX_BATCH_LENGTH + 1}`]), ConfigError);
    });

    it('says in one line that the --bind port is in use', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const r = rl(['train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', path.join(tmp, 'port'), '--bind', `tcp://127.0.0.1:${port}`, '--set', 'stop.iterations=1']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`^error: --bind tcp://127\\.0\\.0\\.1:${port}: cannot listen there: the address is in use \\(another learner, or a program on that port\\?\\)\\n$`));
      } finally {
        server.close();
      }
    });
  });

  describe('binding a port another socket is leaving', () => {
    it('binds a port that a ZeroMQ socket closed a moment before (it closes in its I/O thread), as a learner started right after another on the same port does', async () => {
      // 20 times: a bind straight after a close finds the port still taken about one time in four here.
      for (let i = 0; i < 20; i++) {
        const first = new zmq.Router();
        await first.bind('tcp://127.0.0.1:0');
        const endpoint = first.lastEndpoint!;
        first.close();
        const second = new zmq.Router();
        try {
          await bindOrExplain(second, endpoint);
          assert.equal(second.lastEndpoint, endpoint);
        } finally {
          second.close();
        }
      }
    });

    it('binds once a port held by another program is freed within the retry time, and says in one line that it is in use when it is not', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const endpoint = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const socket = new zmq.Router();
      try {
        await assert.rejects(bindOrExplain(socket, endpoint, '--bind', 200), { message: `--bind ${endpoint}: cannot listen there: the address is in use (another learner, or a program on that port?)` });
        setTimeout(() => server.close(), 300);
        await bindOrExplain(socket, endpoint, '--bind', 5000);
        assert.equal(socket.lastEndpoint, endpoint);
      } finally {
        socket.close();
        server.close();
      }
    });
  });

  describe('resume and checkpoints', () => {
    let run: string;
    before(() => {
      run = path.join(tmp, 'resume');
      trainRun('configs/ppo-cartpole.yaml', run);
    });

    it('refuses --resume with another model or env, naming the key', () => {
      const a = rl(['train', '--resume', run, '--set', 'model.hiddenSizes=[32,32]']);
      assert.equal(a.status, 2);
      assert.equal(a.stderr, `error: --resume ${run}/checkpoints/iter_000002: model.hiddenSizes ([32, 32]) differs from the checkpoint's ([64, 64]); a resumed run keeps its algorithm, env and model (start a new run for another)\n`);
      const b = rl(['train', '--resume', run, '--set', 'env.id=Acrobot-v1']);
      assert.equal(b.status, 2);
      assert.match(b.stderr, /^error: --resume .*: env\.id \("Acrobot-v1"\) differs from the checkpoint's \("CartPole-v1"\)/);
    });

    it('calls a checkpoint with an edited shape in tensors.json damaged, in rl evaluate and rl info', () => {
      const copy = path.join(tmp, 'shape-edited');
      fs.cpSync(run, copy, { recursive: true });
      const ckpt = listCheckpoints(copy).at(-1)!;
      const index = JSON.parse(fs.readFileSync(path.join(ckpt, 'tensors.json'), 'utf8'));
      const i = index.findIndex((e: { shape: number[] }) => e.shape.length === 2);
      index[i].shape = [index[i].shape[1], index[i].shape[0]]; // same size, other shape
      fs.writeFileSync(path.join(ckpt, 'tensors.json'), JSON.stringify(index));
      assert.throws(() => loadCheckpoint(ckpt), (e: unknown) => e instanceof CheckpointError && e.message === `${ckpt}: damaged checkpoint (tensors.json does not match its checksum in metadata.json)`);
      const ev = rl(['evaluate', '--checkpoint', copy, '--episodes', '1']);
      assert.equal(ev.status, 2);
      assert.equal(ev.stderr, `error: ${ckpt}: damaged checkpoint (tensors.json does not match its checksum in metadata.json)\n`);
      const info = rl(['info', copy]);
      assert.equal(info.status, 1);
      assert.match(info.stdout, /DAMAGED, it will not load: .*damaged checkpoint \(tensors\.json does not match/);
    });

    it('evaluates a checkpoint whose state.json is damaged (it reads only the weights), while rl info reports the damage', () => {
      const copy = path.join(tmp, 'state-damaged');
      fs.cpSync(run, copy, { recursive: true });
      const ckpt = listCheckpoints(copy).at(-1)!;
      fs.writeFileSync(path.join(ckpt, 'state.json'), '{"algorithm": {');
      const ev = rl(['evaluate', '--checkpoint', copy, '--episodes', '2', '--json']);
      assert.equal(ev.status, 0, ev.stderr);
      assert.equal(JSON.parse(ev.stdout).episodes, 2);
      const info = rl(['info', copy]);
      assert.equal(info.status, 1);
      assert.match(info.stdout, /DAMAGED, it will not load: .*state\.json/);
    });

    it('fails with one line when the disk is full while checkpointing, and the earlier checkpoint stays whole', () => {
      const copy = path.join(tmp, 'enospc');
      fs.cpSync(run, copy, { recursive: true });
      // Writes of tensors.bin go to /dev/full, which answers every write with ENOSPC.
      const preload = path.join(tmp, 'full-disk.js');
      fs.writeFileSync(
        preload,
        `const fs = require('node:fs'); const open = fs.openSync;
fs.openSync = (p, ...rest) => (String(p).includes('.tmp-iter_') && String(p).endsWith('tensors.bin') ? open('/dev/full', 'w') : open(p, ...rest));\n`,
      );
      const r = rl(['train', '--resume', copy, '--set', 'stop.iterations=3'], { node: ['--require', preload] });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `error: ${copy}/checkpoints/iter_000003: cannot write the checkpoint, no space left on the device (ENOSPC); the earlier checkpoints are untouched\n`);
      assert.deepEqual(listCheckpoints(copy).map((d) => path.basename(d)), ['iter_000002']);
      assert.deepEqual(fs.readdirSync(path.join(copy, 'checkpoints')), ['iter_000002'], 'no half-written folder left');
      loadCheckpoint(listCheckpoints(copy)[0]);
    });
  });

  it('trains an env class without close() (close is optional, as in Gymnasium)', () => {
    const file = path.join(tmp, 'no-close.js');
    fs.writeFileSync(
      file,
      `const { CartPole } = require(${JSON.stringify(path.join(root, 'dist', 'envs', 'cartpole.js'))});
class NoClose {
  constructor() { this.env = new CartPole(); this.observationSpace = this.env.observationSpace; this.actionSpace = this.env.actionSpace; }
  reset(opts) { return this.env.reset(opts); }
  step(action) { return this.env.step(action); }
}
module.exports = { NoClose };\n`,
    );
    const r = rl(['train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', path.join(tmp, 'no-close'), ...small, '--set', 'stop.iterations=1', '--set', `env.module=${file}`, '--set', 'env.export=NoClose']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('warns on stderr, without printing the key, when secret.key is readable by others', () => {
    const dir = path.join(tmp, 'keys');
    const pair = generateKeys(dir);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => warnings.push(line);
    try {
      readKeyPair(dir);
      assert.equal(warnings.length, 0, 'a 0600 key is quiet');
      fs.chmodSync(path.join(dir, 'secret.key'), 0o644);
      readKeyPair(dir);
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, [`warning: ${dir}/secret.key is readable by others (mode 0644); it holds a secret key: chmod 600 ${dir}/secret.key`]);
    assert.ok(!warnings[0].includes(pair.secretKey));
  });

  describe('checkpoints by time', () => {
    it('defaults to a checkpoint every 300 seconds', () => {
      assert.deepEqual(loadConfig(cartpole).checkpoint, { every: 0, everySeconds: 300, keep: 5, best: false });
    });

    it('checkpointDue: every N iterations, or once everySeconds have passed; 0 turns either off', () => {
      const p = { every: 10, everySeconds: 300 };
      assert.equal(checkpointDue(p, { iteration: 20, secondsSinceCheckpoint: 1 }), true);
      assert.equal(checkpointDue(p, { iteration: 21, secondsSinceCheckpoint: 299.9 }), false);
      assert.equal(checkpointDue(p, { iteration: 21, secondsSinceCheckpoint: 300 }), true);
      assert.equal(checkpointDue({ every: 0, everySeconds: 0 }, { iteration: 20, secondsSinceCheckpoint: 1e9 }), false);
      assert.equal(checkpointDue({ every: 0, everySeconds: 60 }, { iteration: 20, secondsSinceCheckpoint: 61 }), true);
    });
  });
});
