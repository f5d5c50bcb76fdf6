import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, validateConfig } from '../src/config/load';
import type { RunConfig } from '../src/config/schema';
import { Rng } from '../core/rng';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { Asha } from '../src/tune/asha';
import { explore, exploitCheckpoint, pickDonor } from '../src/tune/pbt';
import { writeHParams } from '../src/tune/hparams';
import { bestConfig, readTrials, trialsCsv, type TrialRecord } from '../src/tune/results';
import { checkSpace, parseSpace, sampleTrials, withParams } from '../src/tune/space';
import { bootstrapInterval, iqm, quantile, summarize } from '../src/tune/stats';
import { readTrialProgress } from '../src/tune/trial-progress';
import { defaultConcurrency, loadTuneFile, parseSeeds, type TuneSpec } from '../src/tune/tune-file';
import { writeBest } from '../src/tune/sweep-report';
import { fakeCheckpoint } from './helpers/fake-checkpoint';
import { parseMessage, readRecords } from './helpers/tfrecord-reader';

const base = (): RunConfig => validateConfig({ algorithm: 'ppo', env: { id: 'CartPole-v1' }, stop: { envSteps: 4096, episodeReturnMean: 475 } });

describe('rl tune: the search space', () => {
  it('refuses a dimension of unknown form, an empty list, and bounds out of order, naming the key', () => {
    assert.throws(() => parseSpace({ 'ppo.lr': { normal: [0, 1] } }, 't.yaml'), /^ConfigError: t\.yaml: space\.ppo\.lr \(\{ normal: \[0, 1\] \}\) must be one of \{ choice/);
    assert.throws(() => parseSpace({ 'ppo.lr': { choice: [] } }, 't.yaml'), /t\.yaml: space\.ppo\.lr\.choice \(\[\]\) must be a non-empty list of values/);
    assert.throws(() => parseSpace({ 'ppo.lr': { uniform: [0.1, 0.01] } }, 't.yaml'), /space\.ppo\.lr\.uniform \(\[0\.1, 0\.01\]\) must be \[low, high\], two finite numbers with low < high/);
    assert.throws(() => parseSpace({ 'ppo.lr': { loguniform: [0, 0.01] } }, 't.yaml'), /space\.ppo\.lr\.loguniform \(\[0, 0\.01\]\) must have low > 0/);
    assert.throws(() => parseSpace({ 'ppo.numEpochs': { int: [1.5, 4] } }, 't.yaml'), /space\.ppo\.numEpochs\.int \(\[1\.5, 4\]\) must be \[low, high\], two whole numbers/);
  });

  it('checks every value against the training schema before anything runs: an unknown key, a float for an integer, a value past a bound', () => {
    const check = (space: unknown) => () => checkSpace(parseSpace(space, 't.yaml'), base(), 't.yaml');
    assert.throws(check({ 'ppo.learningRate': { uniform: [0.001, 0.01] } }), /t\.yaml: space\.ppo\.learningRate \(uniform \[0\.001, 0\.01\]\): the value 0\.001 is refused by the training schema: ppo\.learningRate is not a known key; did you mean "[a-zA-Z]+"\? \(expected one of: lr, /);
    assert.throws(check({ 'ppo.numEpochs': { uniform: [2, 5] } }), /space\.ppo\.numEpochs \(uniform \[2, 5\]\): the value 3\.5 is refused by the training schema: ppo\.numEpochs \(3\.5\) must be an integer/);
    assert.throws(check({ 'ppo.lr': { choice: [0.001, 5] } }), /space\.ppo\.lr \(choice \[0\.001, 5\]\): the value 5 is refused by the training schema: ppo\.lr \(5\) must be <= 1/);
    assert.doesNotThrow(check({ 'ppo.lr': { loguniform: [1e-4, 1e-2] }, 'ppo.numEpochs': { int: [2, 5] }, 'model.hiddenSizes': { choice: [[32], [64, 64]] } }));
  });

  it('draws the same trials from the same seed, within bounds, cycling the grid points with the random values drawn afresh', () => {
    const space = parseSpace({ 'ppo.gaeLambda': { grid: [0.8, 0.95] }, 'ppo.lr': { loguniform: [1e-4, 1e-2] }, 'ppo.numEpochs': { int: [2, 4] }, 'ppo.minibatchSize': { choice: [64, 128] } }, 't.yaml');
    const a = sampleTrials(space, 40, 7);
    assert.deepEqual(a, sampleTrials(space, 40, 7));
    assert.notDeepEqual(a, sampleTrials(space, 40, 8));
    assert.deepEqual(
      a.map((p) => p['ppo.gaeLambda']),
      Array.from({ length: 40 }, (_, i) => [0.8, 0.95][i % 2]),
    );
    for (const p of a) {
      assert.ok((p['ppo.lr'] as number) >= 1e-4 && (p['ppo.lr'] as number) < 1e-2);
      assert.ok([2, 3, 4].includes(p['ppo.numEpochs'] as number));
      assert.ok([64, 128].includes(p['ppo.minibatchSize'] as number));
    }
    assert.deepEqual(new Set(a.map((p) => p['ppo.numEpochs'])), new Set([2, 3, 4]), 'both ends of an int range are drawn');
  });

  it('sets dotted keys in a copy of the config, creating sections', () => {
    const cfg = { ppo: { lr: 1 }, stop: { envSteps: 5 } };
    const out = withParams(cfg, { 'ppo.lr': 0.5, 'evaluation.every': 2 });
    assert.deepEqual(out, { ppo: { lr: 0.5 }, stop: { envSteps: 5 }, evaluation: { every: 2 } });
    assert.equal(cfg.ppo.lr, 1);
  });
});

describe('rl tune: the tune file', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-tune-file-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('reads an inline base, the space, metric, budget, seeds and ASHA, with every trial config validated and the budget as its stop.envSteps', () => {
    const file = write(
      'sweep.yaml',
      [
        'base: { algorithm: ppo, env: { id: CartPole-v1 }, stop: { envSteps: 100000 } }',
        'space: { ppo.lr: { loguniform: [1.0e-4, 1.0e-2] }, ppo.gaeLambda: { grid: [0.8, 0.9, 0.95] } }',
        'metric: { episodeReturnMean: max }',
        'budget: { envSteps: 8192 }',
        'seeds: 2',
        'concurrency: 3',
        'scheduler: { type: asha, grace: 2048 }',
      ].join('\n'),
    );
    const spec = loadTuneFile(file);
    assert.equal(spec.name, 'sweep');
    assert.equal(spec.trials, 3, 'trials default to the grid points');
    assert.deepEqual(spec.seeds, [0, 1]);
    assert.equal(spec.concurrency, 3);
    assert.deepEqual(spec.scheduler, { type: 'asha', resource: 'envSteps', grace: 2048, eta: 3 });
    assert.deepEqual(spec.configs.map((c) => c.config.stop.envSteps), [8192, 8192, 8192]);
    assert.deepEqual(spec.configs.map((c) => (c.config.ppo as { gaeLambda: number }).gaeLambda), [0.8, 0.9, 0.95]);
  });

  it('refuses an unknown tune key, a trial the schema refuses, and a training config without --seeds', () => {
    assert.throws(() => loadTuneFile(write('typo.yaml', 'base: { algorithm: ppo, env: { id: CartPole-v1 }, stop: { envSteps: 10 } }\ntrails: 3\n')), /typo\.yaml: the tune file: trails is not a tune file key \(expected: name, base, space/);
    assert.throws(
      () => loadTuneFile(write('big.yaml', 'base: { algorithm: ppo, env: { id: CartPole-v1 }, stop: { envSteps: 10000 } }\nspace: { ppo.minibatchSize: { choice: [64, 4096] } }\n')),
      /big\.yaml: space\.ppo\.minibatchSize \(choice \[64, 4096\]\): the value 4096 is refused by the training schema: ppo\.minibatchSize \(4096\) must be <=/,
    );
    assert.throws(() => loadTuneFile(write('train.yaml', 'algorithm: ppo\nenv: { id: CartPole-v1 }\nstop: { envSteps: 10 }\n')), /train\.yaml: a training config \(it names its algorithm\) is tuned over seeds: give --seeds 0-9/);
    const seeds = loadTuneFile(path.join(tmp, 'train.yaml'), { seeds: [3, 4] });
    assert.deepEqual([seeds.seeds, seeds.metric, seeds.configs.length], [[3, 4], 'episodeReturnMean', 1]);
  });

  it('runs as many trials at once as there are cores, counting each trial as its learner and its workers', () => {
    const withWorkers = (n: number) => validateConfig({ algorithm: 'ppo', env: { id: 'CartPole-v1' }, workers: { numWorkers: n }, stop: { envSteps: 10 } });
    assert.deepEqual([defaultConcurrency(withWorkers(0), 2), defaultConcurrency(withWorkers(0), 8), defaultConcurrency(withWorkers(2), 8), defaultConcurrency(withWorkers(3), 2)], [2, 8, 2, 1]);
  });

  it('reads --seeds as ranges and lists, and refuses anything else', () => {
    assert.deepEqual(parseSeeds('0-3'), [0, 1, 2, 3]);
    assert.deepEqual(parseSeeds('5,1-2'), [5, 1, 2]);
    assert.throws(() => parseSeeds('3-1'), /--seeds \("3-1"\) must be whole numbers and ranges, such as 0-9 or 0,3,7/);
    assert.throws(() => parseSeeds('a'), /--seeds/);
  });
});

describe('ASHA', () => {
  it('puts rungs at grace x eta^k below the trial budget', () => {
    assert.deepEqual(new Asha({ grace: 1000, eta: 3, mode: 'max', maxResource: 30_000 }).rungs, [1000, 3000, 9000, 27000]);
    assert.deepEqual(new Asha({ grace: 1000, eta: 3, mode: 'max', maxResource: 27_000 }).rungs, [1000, 3000, 9000]);
    assert.deepEqual(new Asha({ grace: 1, eta: 2, mode: 'max', maxResource: 8 }).rungsPassed(3), [0, 1]);
  });

  it('promotes on a synthetic metric exactly as the hand-worked schedule says (eta 2: the best max(1, floor(n/2)) of those at the rung so far)', () => {
    const asha = new Asha({ grace: 1, eta: 2, mode: 'max', maxResource: 8 });
    // rung 0 (resource 1), in order of arrival: n and the number kept, the rank of the newcomer.
    const rung0: [string, number, 'continue' | 'stop'][] = [
      ['A', 5, 'continue'], // n 1, keep 1, rank 1
      ['B', 3, 'stop'], // n 2, keep 1, rank 2 (5 is better)
      ['C', 7, 'continue'], // n 3, keep 1, rank 1
      ['D', 6, 'continue'], // n 4, keep 2, rank 2 (7)
      ['E', 4, 'stop'], // n 5, keep 2, rank 4 (5, 7, 6)
      ['F', NaN, 'stop'], // n 6, keep 3, rank 6: NaN is worse than every number
      ['G', 6, 'continue'], // n 7, keep 3, rank 2 (7): ties with D share the rank
    ];
    for (const [t, v, want] of rung0) assert.equal(asha.report(t, 0, v), want, `${t} at rung 0`);
    // rung 1 (resource 2): A, C, D and G go on to it.
    assert.equal(asha.report('A', 1, 8), 'continue'); // n 1
    assert.equal(asha.report('C', 1, 6), 'stop'); // n 2, keep 1, rank 2
    assert.equal(asha.report('D', 1, 9), 'continue'); // n 3, keep 1, rank 1
    assert.equal(asha.report('G', 1, 8.5), 'continue'); // n 4, keep 2, rank 2 (9)
    // rung 2 (resource 4)
    assert.equal(asha.report('A', 2, 10), 'continue');
    assert.equal(asha.report('D', 2, 9), 'stop');
    assert.equal(asha.report('A', 2, 1), 'continue', 'a rung reported again keeps its first value');
  });

  it('ranks lower as better in min mode, and counts restored values', () => {
    const asha = new Asha({ grace: 10, eta: 3, mode: 'min', maxResource: 100 });
    asha.restore('old1', 0, 1);
    asha.restore('old2', 0, 2);
    assert.equal(asha.report('new', 0, 0.5), 'continue'); // n 3, keep 1, rank 1
    assert.equal(asha.report('worse', 0, 1.5), 'stop'); // n 4, keep 1, rank 3
  });
});

describe('IQM and bootstrap intervals', () => {
  it('cuts floor(n/4) values from each end, as scipy trim_mean(x, 0.25)', () => {
    assert.equal(iqm([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 5.5); // 3..8
    assert.equal(iqm([100, 2, 3, 1]), 2.5); // 2, 3
    assert.equal(iqm([10, 1, 3, 2, 50]), 5); // 2, 3, 10
    assert.equal(iqm([7]), 7);
    assert.ok(Number.isNaN(iqm([])));
  });

  it('interpolates quantiles linearly between neighbours (numpy default)', () => {
    assert.equal(quantile([0, 10], 0.975), 9.75);
    assert.equal(quantile([1, 2.5, 4], 0.25), 1.75);
    assert.equal(quantile([5, Infinity, Infinity], 0.9), Infinity);
  });

  it('takes the percentile interval of the resampled statistic, the draws as the generator gives them', () => {
    const draws = [0, 0, 0, 0, 3, 3, 3, 3, 0, 1, 2, 3];
    const rng = { int: () => draws.shift()! };
    const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    // resamples [1,1,1,1], [4,4,4,4], [1,2,3,4]: means 1, 4, 2.5; sorted 1, 2.5, 4; the 25% and 75% quantiles
    assert.deepEqual(bootstrapInterval([1, 2, 3, 4], { statistic: mean, resamples: 3, level: 0.5, rng }), [1.75, 3.25]);
  });

  it('gives a seeded interval that holds the IQM, and a point for equal values', () => {
    const values = [10, 12, 9, 30, 11, 10.5, 13, 8, 12.5, 11];
    const s = summarize(values, 3);
    assert.deepEqual(s, summarize(values, 3));
    assert.ok(s.ci95[0] <= s.iqm && s.iqm <= s.ci95[1], JSON.stringify(s));
    assert.deepEqual(summarize([4, 4, 4]).ci95, [4, 4]);
  });
});

describe('rl tune: results', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-tune-results-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const record = (over: Partial<TrialRecord>): TrialRecord => ({
    id: 't000-s0', index: 0, seed: 0, params: { 'ppo.lr': 0.001 }, status: 'completed', metric: 100, rungs: {}, stepsToThreshold: null,
    envSteps: 4096, iterations: 4, wallSeconds: 2, runDir: 'trials/t000-s0', startTime: 1, endTime: 3, ...over,
  });

  it('reads the metric, steps and the steps to a threshold from progress.jsonl, evalReturnMean carried between evaluations, a cut line skipped', () => {
    const file = path.join(tmp, 'progress.jsonl');
    fs.writeFileSync(file, ['{"iteration":1,"envSteps":100,"wallSeconds":1,"evalReturnMean":10}', '{"iteration":2,"envSteps":200,"wallSeconds":2}', '{"iteration":3,"envSteps":300,"wallSeconds":3,"evalReturnMean":50}', '{"iteration":4,"envS'].join('\n'));
    const p = readTrialProgress(file, 'evalReturnMean', { value: 40, mode: 'max' });
    assert.deepEqual([p.records, p.envSteps, p.iterations, p.metric, p.stepsToThreshold], [3, 300, 3, 50, 300]);
    assert.deepEqual(p.series.map((s) => s.metric), [10, 10, 50]);
    assert.equal(readTrialProgress(path.join(tmp, 'none'), 'x').records, 0);
  });

  it('picks the configuration that reached the threshold in the fewest mean steps, then the best mean metric', () => {
    const records = [
      record({ id: 'a', index: 0, metric: 480, stepsToThreshold: 9000 }),
      record({ id: 'b', index: 1, metric: 476, stepsToThreshold: 5000 }),
      record({ id: 'c', index: 1, metric: 490, stepsToThreshold: 6000 }),
      record({ id: 'd', index: 2, metric: 499, stepsToThreshold: null }),
      record({ id: 'e', index: 3, metric: 500, stepsToThreshold: 100, status: 'stopped' }),
      record({ id: 'f', index: 4, metric: null, status: 'error', error: 'boom' }),
    ];
    assert.deepEqual(bestConfig(records, 'max'), { index: 1, metric: 483, completed: 2, stepsToThreshold: 5500 });
    assert.equal(bestConfig([record({ metric: 1, index: 0 }), record({ metric: 2, index: 1 })], 'min')?.index, 0);
  });

  it("writes best.yaml with the values the best trial ended with: a PBT member's explored values, not those it started from", () => {
    const base = loadConfig(path.resolve(__dirname, '..', '..', 'configs', 'ppo-cartpole.yaml'));
    const start = { 'ppo.lr': 0.0005 };
    const spec = { name: 'pbt-best', base, mode: 'max', metric: 'episodeReturnMean', configs: [{ params: start, config: withParams(base, start) }] } as unknown as TuneSpec;
    const dir = fs.mkdtempSync(path.join(tmp, 'best-'));
    const best = writeBest(dir, spec, [record({ id: 'a', metric: 300, params: { 'ppo.lr': 0.0012 } }), record({ id: 'b', metric: 400, params: { 'ppo.lr': 0.0024 } })]);
    assert.deepEqual(best?.params, { 'ppo.lr': 0.0024 });
    assert.equal(loadConfig(path.join(dir, 'best.yaml')).ppo!.lr, 0.0024);
  });

  it('writes the CSV with a column per key and rung, quoting what needs it, and reads trials.jsonl back with a cut line skipped', () => {
    const csv = trialsCsv([record({ rungs: { '2048': 20 } }), record({ id: 't001-s0', index: 1, params: { 'ppo.lr': 0.002, 'model.hiddenSizes': [32, 32] }, status: 'error', metric: null, error: 'error: a, "b"' })]);
    assert.equal(
      csv,
      'id,index,seed,ppo.lr,model.hiddenSizes,status,metric,rung_2048,stepsToThreshold,envSteps,iterations,wallSeconds,error\n' +
        't000-s0,0,0,0.001,,completed,100,20,,4096,4,2.0,\n' +
        't001-s0,1,0,0.002,"[32,32]",error,,,,4096,4,2.0,"error: a, ""b"""\n',
    );
    const file = path.join(tmp, 'trials.jsonl');
    fs.writeFileSync(file, `${JSON.stringify(record({}))}\n${JSON.stringify(record({ id: 'x', metric: 5 }))}\n{"id":"cut`);
    assert.deepEqual([...readTrials(file).keys()], ['t000-s0', 'x']);
  });

  it('writes HParams data in the plugin protos: the experiment with hparam and metric infos, and per trial a session start, the metric and a session end', () => {
    const dir = path.join(tmp, 'tensorboard');
    const space = parseSpace({ 'ppo.lr': { loguniform: [1e-4, 1e-2] }, 'ppo.minibatchSize': { choice: [64, 128] } }, 't.yaml');
    writeHParams(dir, { space, metric: 'episodeReturnMean', created: 1700000000, trials: [{ id: 't000-s0', params: { 'ppo.lr': 0.001, 'ppo.minibatchSize': 64 }, seed: 0, metric: 321.5, envSteps: 4096, status: 'success', startTime: 1700000001, endTime: 1700000009 }] });
    const only = (d: string) => path.join(d, fs.readdirSync(d).find((n) => n.startsWith('events.out.tfevents.'))!);
    // Field numbers from event.proto, summary.proto, and the hparams plugin's plugin_data.proto and api.proto.
    const field = (buf: Buffer, n: number) => parseMessage(buf).filter((f) => f.field === n).map((f) => f.value as Buffer);
    const str = (buf: Buffer, n: number) => field(buf, n)[0]?.toString('utf8');
    const plugin = (event: Buffer) => {
      const value = field(field(event, 5)[0], 1)[0];
      const pluginData = field(field(value, 9)[0], 1)[0];
      return { tag: str(value, 1), name: str(pluginData, 1), content: field(pluginData, 2)[0] };
    };
    const root = readRecords(only(dir));
    const exp = plugin(root[1]);
    assert.deepEqual([exp.tag, exp.name], ['_hparams_/experiment', 'hparams']);
    const experiment = field(exp.content, 2)[0];
    const infos = field(experiment, 4);
    assert.deepEqual(infos.map((i) => str(i, 1)), ['ppo.lr', 'ppo.minibatchSize', 'seed']);
    const interval = field(infos[0], 6)[0];
    assert.deepEqual([field(interval, 1)[0].readDoubleLE(0), field(interval, 2)[0].readDoubleLE(0)], [1e-4, 1e-2]);
    const discrete = field(field(infos[1], 5)[0], 1).map((v) => field(v, 2)[0].readDoubleLE(0));
    assert.deepEqual(discrete, [64, 128]);
    assert.equal(str(field(field(experiment, 5)[0], 1)[0], 2), 'episodeReturnMean');

    const trial = readRecords(only(path.join(dir, 't000-s0')));
    const start = plugin(trial[1]);
    assert.equal(start.tag, '_hparams_/session_start_info');
    const startInfo = field(start.content, 3)[0];
    const hparams = Object.fromEntries(field(startInfo, 1).map((e) => [str(e, 1), field(field(e, 2)[0], 2)[0].readDoubleLE(0)]));
    assert.deepEqual(hparams, { 'ppo.lr': 0.001, 'ppo.minibatchSize': 64, seed: 0 });
    const scalar = field(field(trial[2], 5)[0], 1)[0];
    assert.deepEqual([str(scalar, 1), field(scalar, 2)[0].readFloatLE(0)], ['episodeReturnMean', 321.5]);
    const end = plugin(trial[3]);
    assert.equal(end.tag, '_hparams_/session_end_info');
    const endInfo = parseMessage(field(end.content, 4)[0]);
    assert.deepEqual([endInfo[0].field, endInfo[0].value], [1, 1n], 'status STATUS_SUCCESS');
  });
});

describe('PBT', () => {
  const space = parseSpace({ 'ppo.lr': { loguniform: [1e-4, 1e-2] }, 'ppo.entCoef': { uniform: [0, 0.01] }, 'ppo.numEpochs': { int: [2, 10] }, 'ppo.minibatchSize': { choice: [64, 128, 256] } }, 't.yaml');

  it('explores by x0.8 or x1.2 (an int rounded) and a neighbouring list value, when it does not resample', () => {
    const from = { 'ppo.lr': 1e-3, 'ppo.entCoef': 0.005, 'ppo.numEpochs': 5, 'ppo.minibatchSize': 128 };
    const seen = new Set<string>();
    for (let seed = 0; seed < 50; seed++) {
      const out = explore(from, space, new Rng(seed), 0);
      assert.ok([0.8e-3, 1.2e-3].some((v) => Math.abs((out['ppo.lr'] as number) - v) < 1e-15), String(out['ppo.lr']));
      assert.ok([0.004, 0.006].some((v) => Math.abs((out['ppo.entCoef'] as number) - v) < 1e-15), String(out['ppo.entCoef']));
      assert.ok([4, 6].includes(out['ppo.numEpochs'] as number), String(out['ppo.numEpochs'])); // 5 x 0.8 = 4, 5 x 1.2 = 6
      assert.ok([64, 256].includes(out['ppo.minibatchSize'] as number));
      seen.add(JSON.stringify(out));
    }
    assert.ok(seen.size > 4, 'the directions are drawn');
  });

  it('stays in the bounds of the space, from its edges and with resampling', () => {
    const edges = [
      { 'ppo.lr': 1e-2, 'ppo.entCoef': 0.01, 'ppo.numEpochs': 10, 'ppo.minibatchSize': 256 },
      { 'ppo.lr': 1e-4, 'ppo.entCoef': 0, 'ppo.numEpochs': 2, 'ppo.minibatchSize': 64 },
    ];
    const rng = new Rng(1);
    for (const from of edges) {
      let p: Record<string, unknown> = from;
      for (let i = 0; i < 500; i++) {
        p = explore(p, space, rng, i % 2 === 0 ? 0 : 0.3);
        assert.ok((p['ppo.lr'] as number) >= 1e-4 && (p['ppo.lr'] as number) <= 1e-2, JSON.stringify(p));
        assert.ok((p['ppo.entCoef'] as number) >= 0 && (p['ppo.entCoef'] as number) <= 0.01, JSON.stringify(p));
        assert.ok(Number.isInteger(p['ppo.numEpochs']) && (p['ppo.numEpochs'] as number) >= 2 && (p['ppo.numEpochs'] as number) <= 10, JSON.stringify(p));
        assert.ok([64, 128, 256].includes(p['ppo.minibatchSize'] as number), JSON.stringify(p));
      }
    }
    const up = explore({ 'ppo.lr': 1e-2, 'ppo.entCoef': 0.01, 'ppo.numEpochs': 10, 'ppo.minibatchSize': 256 }, space, new Rng(3), 0);
    assert.ok(up['ppo.lr'] === 1e-2 || Math.abs((up['ppo.lr'] as number) - 0.8e-2) < 1e-15, 'x1.2 at the top edge is clamped to it');
  });

  it('has a member of the bottom quantile copy one of the top, and no one else', () => {
    const scores = new Map([['a', 10], ['b', 20], ['c', 30], ['d', 40]]);
    const q = { quantile: 0.25, mode: 'max' as const };
    assert.equal(pickDonor('a', scores, q, new Rng(0)), 'd'); // ceil(4 x 0.25) = 1 member each side
    for (const m of ['b', 'c', 'd']) assert.equal(pickDonor(m, scores, q, new Rng(0)), undefined);
    assert.equal(pickDonor('d', scores, { quantile: 0.25, mode: 'min' }, new Rng(0)), 'a');
    const eight = new Map([...'abcdefgh'].map((id, i) => [id, i]));
    const donors = new Set(Array.from({ length: 40 }, (_, s) => pickDonor('b', eight, q, new Rng(s))));
    assert.deepEqual([...donors].sort(), ['g', 'h'], 'ceil(8 x 0.25) = 2: the top two');
    assert.equal(pickDonor('a', new Map([['a', 1]]), q, new Rng(0)), undefined, 'a population of one has no one to copy');
    assert.equal(pickDonor('x', new Map([['x', NaN], ['y', 0]]), { quantile: 0.5, mode: 'max' }, new Rng(0)), 'y', 'NaN ranks lowest');
  });

  it("exploits by replacing the member's checkpoints with the donor's newest, byte for byte, which then loads", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-pbt-'));
    try {
      const donor = path.join(tmp, 'donor');
      const member = path.join(tmp, 'member');
      for (const i of [3, 4]) saveCheckpoint(donor, fakeCheckpoint(i), 5);
      for (const i of [2, 6]) saveCheckpoint(member, fakeCheckpoint(i), 5);
      const copy = exploitCheckpoint(donor, member)!;
      assert.deepEqual(listCheckpoints(member), [path.join(member, 'checkpoints', 'iter_000004')]);
      assert.equal(copy, path.join(member, 'checkpoints', 'iter_000004'));
      const source = path.join(donor, 'checkpoints', 'iter_000004');
      const files = (d: string) => fs.readdirSync(d, { recursive: true }).map(String).sort();
      assert.deepEqual(files(copy), files(source));
      for (const f of files(source)) {
        if (fs.statSync(path.join(source, f)).isFile()) assert.ok(fs.readFileSync(path.join(copy, f)).equals(fs.readFileSync(path.join(source, f))), f);
      }
      assert.equal(loadCheckpoint(copy).metadata.iteration, 4);
      assert.deepEqual(listCheckpoints(donor).map((d) => path.basename(d)), ['iter_000003', 'iter_000004'], "the donor's are untouched");
      assert.equal(exploitCheckpoint(path.join(tmp, 'none'), member), undefined);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
