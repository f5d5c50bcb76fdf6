import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TensorBoardWriter } from '../src/tensorboard';
import { crc32c, readEvents } from './helpers/tfrecord-reader';

describe('TensorBoardWriter', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorboard-test-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A writer with two iterations' worth of metrics in it, closed. */
  function writeTwoSteps(): TensorBoardWriter {
    const w = new TensorBoardWriter(tmp);
    w.writeScalars(1024, { 'rollout/episodeReturnMean': 21.5, 'train/policyLoss': -0.0123, 'eval/returnMean': 500 }, 1700000000.25);
    w.writeScalars(2048, { 'rollout/episodeReturnMean': 37.1, 'train/policyLoss': 0.1, 'perf/envStepsPerSecond': 12345.678 }, 1700000001.5);
    w.close();
    return w;
  }

  it('computes the reference CRC32C of "123456789" in the test reader', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('names its file events.out.tfevents.<unix seconds>.<hostname>', () => {
    const before = Math.floor(Date.now() / 1000);
    const w = writeTwoSteps();
    assert.equal(path.dirname(w.file), tmp);
    const name = path.basename(w.file);
    assert.match(name, /^events\.out\.tfevents\.\d+\.[^/]+$/);
    assert.deepEqual(fs.readdirSync(tmp), [name]);
    const seconds = Number(name.split('.')[3]);
    assert.ok(seconds >= before && seconds <= Date.now() / 1000, `${seconds} is not the current time`);
    assert.ok(name.endsWith(`.${os.hostname()}`));
  });

  it('writes file_version "brain.Event:2" as the first record', () => {
    const [first] = readEvents(writeTwoSteps().file);
    assert.equal(first.fileVersion, 'brain.Event:2');
    assert.deepEqual(first.values, []);
    assert.ok(Math.abs(first.wallTime - Date.now() / 1000) < 60, `wall time ${first.wallTime} is not now`);
  });

  it('writes one event per call with its step, wall time, tags and float32 values', () => {
    const events = readEvents(writeTwoSteps().file);
    assert.equal(events.length, 3);
    assert.deepEqual(events.slice(1), [
      {
        wallTime: 1700000000.25,
        step: 1024,
        values: [
          { tag: 'rollout/episodeReturnMean', value: Math.fround(21.5) },
          { tag: 'train/policyLoss', value: Math.fround(-0.0123) },
          { tag: 'eval/returnMean', value: 500 },
        ],
      },
      {
        wallTime: 1700000001.5,
        step: 2048,
        values: [
          { tag: 'rollout/episodeReturnMean', value: Math.fround(37.1) },
          { tag: 'train/policyLoss', value: Math.fround(0.1) },
          { tag: 'perf/envStepsPerSecond', value: Math.fround(12345.678) },
        ],
      },
    ]);
  });

  it('leaves out NaN, Infinity and non-number metrics', () => {
    const w = new TensorBoardWriter(tmp);
    const metrics = { 'rollout/episodeReturnMean': NaN, 'train/valueLoss': 2, 'train/entropy': Infinity, 'train/approxKl': 'x' as unknown as number };
    w.writeScalars(3000, metrics);
    w.close();
    const events = readEvents(w.file);
    assert.deepEqual(events[1].values, [{ tag: 'train/valueLoss', value: 2 }]);
    assert.equal(events[1].step, 3000);
  });

  it('has a flipped data byte caught by the reader\'s CRC check', () => {
    const file = writeTwoSteps().file;
    const buf = fs.readFileSync(file);
    const secondFrame = 16 + Number(buf.readBigUInt64LE(0)); // frame 0 is the file_version event
    buf[secondFrame + 12 + 5] ^= 0x01; // a byte of frame 1's data
    fs.writeFileSync(file, buf);
    assert.throws(() => readEvents(file), (err: Error) => {
      assert.equal(err.message, `${file}: frame 1 has a bad data CRC`);
      return true;
    });
  });

  it('warns once and goes on without throwing when its folder is removed after creation', () => {
    const logs: string[] = [];
    const dir = path.join(tmp, 'run');
    const w = new TensorBoardWriter(dir, { log: (m) => logs.push(m) });
    w.writeScalars(1, { 'train/policyLoss': 1 });
    fs.rmSync(dir, { recursive: true });
    w.writeScalars(2, { 'train/policyLoss': 2 });
    w.writeScalars(3, { 'train/policyLoss': 3 });
    w.flush();
    w.close();
    w.close();
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.equal(
      logs[0],
      `warning: TensorBoard events file ${w.file} can no longer be written (ENOENT: the file was deleted); training goes on without it`,
    );
  });

  it('warns once and goes on without throwing when its folder cannot be created', () => {
    const logs: string[] = [];
    fs.writeFileSync(path.join(tmp, 'a-file'), '');
    const w = new TensorBoardWriter(path.join(tmp, 'a-file', 'run'), { log: (m) => logs.push(m) });
    w.writeScalars(1, { 'train/policyLoss': 1 });
    w.flush();
    w.close();
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.ok(logs[0].startsWith(`warning: TensorBoard events file ${w.file} could not be created (ENOTDIR: `), logs[0]);
    assert.ok(logs[0].endsWith('; training goes on without it'), logs[0]);
  });

  it('rejects a step that is not a non-negative integer', () => {
    const w = new TensorBoardWriter(tmp);
    assert.throws(() => w.writeScalars(1.5, { 'train/policyLoss': 1 }), {
      name: 'RangeError',
      message: 'TensorBoardWriter.writeScalars: step (1.5) must be a non-negative integer',
    });
    w.close();
  });

  it('marks a restart with a SessionLog START event at the given step, after its file_version', () => {
    const w = new TensorBoardWriter(tmp);
    w.restartAt(2049, 1700000002);
    w.writeScalars(3072, { 'train/policyLoss': 0.5 }, 1700000003);
    w.close();
    const events = readEvents(w.file);
    assert.equal(events.length, 3);
    assert.deepEqual(events[1], { wallTime: 1700000002, step: 2049, sessionLogStatus: 1, values: [] });
    assert.equal(events[2].step, 3072);
    assert.equal(events[0].sessionLogStatus, undefined);
  });

  it('is read back by Python TensorBoard, which drops what an earlier file logged at and past a restart step, when installed', function () {
    if (spawnSync('python3', ['-c', 'import tensorboard'], { stdio: 'ignore' }).status !== 0) this.skip();
    writeTwoSteps(); // 1024 and 2048: the second was logged after the checkpoint at 1024
    fs.renameSync(fs.readdirSync(tmp).map((n) => path.join(tmp, n))[0], path.join(tmp, `events.out.tfevents.1000000000.${os.hostname()}`));
    const w = new TensorBoardWriter(tmp);
    w.restartAt(1025);
    w.writeScalars(2048, { 'rollout/episodeReturnMean': 40 });
    w.close();
    const script = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      'acc = EventAccumulator(sys.argv[1]); acc.Reload()',
      'print(json.dumps([[e.step, e.value] for e in acc.Scalars("rollout/episodeReturnMean")]))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, tmp], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [[1024, Math.fround(21.5)], [2048, 40]]);
  });

  it('is read back by Python TensorBoard, when installed', function () {
    if (spawnSync('python3', ['-c', 'import tensorboard'], { stdio: 'ignore' }).status !== 0) this.skip();
    const w = writeTwoSteps();
    const script = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      'acc = EventAccumulator(sys.argv[1]); acc.Reload()',
      'print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, w.file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const scalars = JSON.parse(run.stdout) as Record<string, [number, number][]>;
    assert.deepEqual(scalars['rollout/episodeReturnMean'], [[1024, Math.fround(21.5)], [2048, Math.fround(37.1)]]);
    assert.deepEqual(scalars['eval/returnMean'], [[1024, 500]]);
  });
});
