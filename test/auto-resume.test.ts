import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { autoResume, CHECKPOINT_FORMAT, listCheckpoints, loadCheckpoint, saveCheckpoint, stopMetAt, type Checkpoint } from '../src/checkpoint';
import { validateConfig } from '../src/config/load';
import { acquireRunDir, runDirProblem } from '../src/run-dir';
import { CheckpointError } from '../core/errors';
import { fakeCheckpoint } from './helpers/fake-checkpoint';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-auto-resume-'));

/** A run dir holding checkpoints of `iterations` (keep: all). */
function runWith(name: string, iterations: number[], format = CHECKPOINT_FORMAT): string {
  const dir = path.join(tmp, name);
  for (const i of iterations) saveCheckpoint(dir, fakeCheckpoint(i, { format }), 100);
  return dir;
}

/** What a `rl train` killed before its first checkpoint leaves: config.yaml, two records, a stale lock, a half-written checkpoint. */
function leftovers(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'checkpoints', '.tmp-iter_000003-4242'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'algorithm: ppo\n');
  fs.writeFileSync(path.join(dir, 'progress.jsonl'), '{"iteration":1}\n{"iteration":2}\n{"itera');
  fs.writeFileSync(path.join(dir, `events.out.tfevents.1700000000.${os.hostname()}`), 'old events');
  fs.writeFileSync(path.join(dir, '.rl-lock'), JSON.stringify({ pid: 2 ** 22 + 7, host: os.hostname(), startedAt: 'earlier' })); // above Linux's pid_max: dead
  return dir;
}

function lines(fn: (log: (l: string) => void) => string | undefined): { result: string | undefined; lines: string[] } {
  const out: string[] = [];
  const result = fn((l) => out.push(l));
  return { result, lines: out };
}

describe('rl train --resume auto', () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('autoResume(runDir)', () => {
    it('starts fresh, saying so, in a dir that does not exist, an empty one, and one with only a crashed first attempt in it', () => {
      fs.mkdirSync(path.join(tmp, 'empty'));
      for (const dir of [path.join(tmp, 'missing'), path.join(tmp, 'empty'), leftovers('crashed')]) {
        const r = lines((log) => autoResume(dir, log));
        assert.equal(r.result, undefined);
        assert.deepEqual(r.lines, [`--resume auto: ${dir} holds no checkpoint; starting a fresh run`]);
      }
      assert.equal(fs.existsSync(path.join(tmp, 'missing')), false, 'looking created nothing');
    });

    it('takes the newest checkpoint by iteration number, saying nothing of the older ones', () => {
      const dir = runWith('three', [9, 10, 8]);
      const r = lines((log) => autoResume(dir, log));
      assert.equal(r.result, path.join(dir, 'checkpoints', 'iter_000010'));
      assert.deepEqual(r.lines, []);
    });

    it('skips a damaged newest checkpoint with one line naming the damage, for the next older intact one', () => {
      const dir = runWith('damaged-newest', [1, 2, 3]);
      const bin = path.join(dir, 'checkpoints', 'iter_000003', 'tensors.bin');
      const bytes = fs.readFileSync(bin);
      bytes[0] ^= 0xff;
      fs.writeFileSync(bin, bytes);
      fs.rmSync(path.join(dir, 'checkpoints', 'iter_000002', 'state.json'));
      const r = lines((log) => autoResume(dir, log));
      assert.equal(r.result, path.join(dir, 'checkpoints', 'iter_000001'));
      assert.deepEqual(r.lines, [
        `--resume auto: skipping ${dir}/checkpoints/iter_000003: damaged checkpoint (tensors.bin does not match its checksum in metadata.json)`,
        `--resume auto: skipping ${dir}/checkpoints/iter_000002: damaged checkpoint (state.json is missing)`,
      ]);
    });

    it('refuses a dir whose checkpoints are all damaged, rather than burying them under a fresh run', () => {
      const dir = runWith('all-damaged', [4, 5]);
      for (const i of [4, 5]) fs.writeFileSync(path.join(dir, 'checkpoints', `iter_00000${i}`, 'tensors.json'), '[');
      assert.throws(() => autoResume(dir, () => {}), (err: Error) => {
        assert.ok(err instanceof CheckpointError);
        assert.equal(err.message, `--resume auto: ${dir}: none of its checkpoints loads (iter_000005, iter_000004 damaged); move its checkpoints/ folder away to start over there, or give a new --run-dir`);
        return true;
      });
    });

    it('refuses a newest checkpoint of a newer format version instead of skipping it (resuming an older one would delete it)', () => {
      const dir = runWith('newer-format', [1, 2]);
      const meta = path.join(dir, 'checkpoints', 'iter_000002', 'metadata.json');
      fs.writeFileSync(meta, JSON.stringify({ ...JSON.parse(fs.readFileSync(meta, 'utf8')), formatVersion: CHECKPOINT_FORMAT + 1 }));
      assert.throws(() => autoResume(dir, () => {}), {
        name: 'CheckpointError',
        message: `--resume auto: ${dir}/checkpoints/iter_000002: checkpoint format ${CHECKPOINT_FORMAT + 1}; this version reads formats up to ${CHECKPOINT_FORMAT} (run the version that wrote it)`,
      });
      assert.equal(listCheckpoints(dir).length, 2);
    });

    it('resumes the newest checkpoint of a run dir that the version before policy ids wrote (format 1 is read, its weights renamed)', () => {
      const dir = runWith('format-1', [1, 2], 1);
      const lines: string[] = [];
      assert.equal(autoResume(dir, (l) => lines.push(l)), path.join(dir, 'checkpoints', 'iter_000002'));
      assert.deepEqual(lines, []);
      assert.deepEqual(loadCheckpoint(path.join(dir, 'checkpoints', 'iter_000002')).algorithm.tensors.map((t) => t.name), ['weights/default/w']);
    });
  });

  describe('a fresh auto start on what a crashed attempt left', () => {
    it('takes the dir, empties progress.jsonl and removes the old TensorBoard events; plain rl train still refuses it', () => {
      const dir = leftovers('replaced');
      assert.equal(runDirProblem(dir), `${dir}: holds another run already (config.yaml, progress.jsonl, checkpoints); continue it with --resume ${dir}, or give a new --run-dir`);
      assert.throws(() => acquireRunDir(dir), /holds another run already/);
      assert.equal(fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8').length > 0, true, 'a refused run changed nothing');
      assert.equal(runDirProblem(dir, { replaceLeftovers: true }), undefined);
      const release = acquireRunDir(dir, { replaceLeftovers: true });
      try {
        assert.equal(fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8'), '');
        assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('events.')), []);
        assert.equal(JSON.parse(fs.readFileSync(path.join(dir, '.rl-lock'), 'utf8')).pid, process.pid);
      } finally {
        release();
      }
    });

    it('does not replace a dir that holds a checkpoint, even a damaged one', () => {
      const dir = runWith('has-checkpoint', [1]);
      fs.writeFileSync(path.join(dir, 'progress.jsonl'), '{"iteration":1}\n');
      fs.rmSync(path.join(dir, 'checkpoints', 'iter_000001', 'tensors.bin'));
      assert.equal(runDirProblem(dir, { replaceLeftovers: true }), `${dir}: holds another run already (progress.jsonl, checkpoints); continue it with --resume ${dir}, or give a new --run-dir`);
      assert.throws(() => acquireRunDir(dir, { replaceLeftovers: true }), /holds another run already/);
      assert.equal(fs.readFileSync(path.join(dir, 'progress.jsonl'), 'utf8'), '{"iteration":1}\n');
    });
  });

  describe('the run dir lock after a restart', () => {
    it("takes over a lock that names this process's pid but that this process does not hold (a restarted container's learner gets the dead one's pid)", () => {
      const dir = path.join(tmp, 'same-pid');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, '.rl-lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: 'before the restart' }));
      assert.equal(runDirProblem(dir), undefined);
      const release = acquireRunDir(dir);
      try {
        assert.notEqual(JSON.parse(fs.readFileSync(path.join(dir, '.rl-lock'), 'utf8')).startedAt, 'before the restart');
        // Held by this process now: a second take is refused.
        assert.throws(() => acquireRunDir(dir), new RegExp(`in use by another run \\(pid ${process.pid} on`));
      } finally {
        release();
      }
      assert.equal(fs.existsSync(path.join(dir, '.rl-lock')), false);
    });
  });

  describe('stopMetAt(checkpoint, stop): a finished run restarted', () => {
    const stop = (s: Record<string, unknown>) => validateConfig({ algorithm: 'ppo', env: { id: 'CartPole-v1' }, evaluation: { every: 1 }, stop: s }).stop;
    const ckpt = (iteration: number, returns: number[] = []): Checkpoint => ({ ...fakeCheckpoint(iteration, { returns }), dir: path.join(tmp, 'finished', 'checkpoints', `iter_${iteration}`) });

    it('names the stop rule that the checkpoint meets, and none when it is not met', () => {
      assert.equal(stopMetAt(ckpt(5), stop({ iterations: 5 })), 'iterations 5 >= 5');
      assert.equal(stopMetAt(ckpt(4), stop({ iterations: 5 })), undefined);
      assert.equal(stopMetAt(ckpt(5), stop({ envSteps: 400 })), 'envSteps 500 >= 400');
      assert.equal(stopMetAt(ckpt(5, [400, 500]), stop({ episodeReturnMean: 450, iterations: 100 })), 'episodeReturnMean 450.0 >= 450');
      assert.equal(stopMetAt(ckpt(5, [400, 499]), stop({ episodeReturnMean: 450, iterations: 100 })), undefined);
    });

    it("reads the checkpoint's own iteration's evaluation from its run's progress.jsonl", () => {
      fs.mkdirSync(path.join(tmp, 'finished'), { recursive: true });
      const records = [{ iteration: 3, evalReturnMean: 486 }, { iteration: 5, evalReturnMean: 490 }, { iteration: 6 }, { iteration: 7, evalReturnMean: 480 }, { iteration: 9, evalReturnMean: 495 }];
      fs.writeFileSync(path.join(tmp, 'finished', 'progress.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n{"iter`);
      assert.equal(stopMetAt(ckpt(5), stop({ evalReturnMean: 485, iterations: 100 })), 'evalReturnMean 486.0, then 490.0 >= 485 (two evaluations in a row)');
      assert.equal(stopMetAt(ckpt(3), stop({ evalReturnMean: 485, iterations: 100 })), undefined); // the first evaluation: one is not enough
      assert.equal(stopMetAt(ckpt(6), stop({ evalReturnMean: 485, iterations: 100 })), undefined); // no evaluation at 6
      assert.equal(stopMetAt(ckpt(7), stop({ evalReturnMean: 485, iterations: 100 })), undefined);
      assert.equal(stopMetAt(ckpt(9), stop({ evalReturnMean: 485, iterations: 100 })), undefined); // 480, then 495
    });
  });
});
