import { strict as assert } from 'node:assert';
import type { MetricSpec } from '../core/algorithm';
import { episodeMetrics } from '../src/metrics';
import { evaluationMetrics } from '../src/evaluate';
import { loopMetrics, metricIndex, recordScalars, UpdateMetrics } from '../src/runtime/iteration-record';
import { samplerMetrics } from '../src/runtime/sampler';

const algorithmMetrics: MetricSpec[] = [
  { key: 'loss', group: 'train', reduce: 'mean', label: 'loss' },
  { key: 'gradientSteps', group: 'train', reduce: 'sum' },
  { key: 'epsilon', group: 'train', reduce: 'last' },
];

describe('The iteration record', () => {
  it('reduces an iteration\'s updates by each metric\'s rule: mean, sum, last; a key no update gave is absent', () => {
    const m = new UpdateMetrics(metricIndex(algorithmMetrics), 'dqn');
    m.add({ gradientSteps: 0, epsilon: 0.9 }); // before learning starts: no loss
    m.add({ loss: 2, gradientSteps: 16, epsilon: 0.8 });
    m.add({ loss: 4, gradientSteps: 16, epsilon: 0.7 });
    assert.deepEqual(m.reduce(), { gradientSteps: 32, epsilon: 0.7, loss: 3 });
    assert.deepEqual(new UpdateMetrics(metricIndex(algorithmMetrics), 'dqn').reduce(), {});
  });

  it('refuses an update metric its algorithm does not declare, naming the algorithm and the key', () => {
    const m = new UpdateMetrics(metricIndex(algorithmMetrics), 'dqn');
    assert.throws(() => m.add({ loss: 1, qMax: 3 }), {
      message: 'dqn: update() returned metric "qMax", which its `metrics` does not declare (add a MetricSpec with its TensorBoard group)',
    });
  });

  it('charts every runtime key under its declared group, evaluation under eval/, and refuses a key with no spec', () => {
    const index = metricIndex([...loopMetrics, ...episodeMetrics, ...samplerMetrics, ...algorithmMetrics, ...evaluationMetrics]);
    const expected: Record<string, string> = {
      episodeReturnMean: 'rollout/episodeReturnMean',
      episodeLenMean: 'rollout/episodeLenMean',
      episodes: 'rollout/episodes',
      evalReturnMean: 'eval/returnMean',
      evalReturnStd: 'eval/returnStd',
      evalReturnMin: 'eval/returnMin',
      evalReturnMax: 'eval/returnMax',
      evalLengthMean: 'eval/lengthMean',
      envStepsPerSecond: 'perf/envStepsPerSecond',
      sampleSeconds: 'perf/sampleSeconds',
      updateSeconds: 'perf/updateSeconds',
      wallSeconds: 'perf/wallSeconds',
      liveWorkers: 'runtime/liveWorkers',
      workerRestarts: 'runtime/workerRestarts',
      rejectedMessages: 'runtime/rejectedMessages',
      droppedBatches: 'runtime/droppedBatches',
      envErrors: 'runtime/envErrors',
      policyLagMean: 'runtime/policyLagMean',
      policyLagMax: 'runtime/policyLagMax',
      sampledStepsPerSecond: 'perf/sampledStepsPerSecond',
      workerStepsPerSecondMin: 'perf/workerStepsPerSecondMin',
      policyVersion: 'runtime/policyVersion',
      iteration: 'runtime/iteration',
      envSteps: 'runtime/envSteps',
      loss: 'train/loss',
      gradientSteps: 'train/gradientSteps',
      epsilon: 'train/epsilon',
    };
    const record = Object.fromEntries(Object.keys(expected).map((k, i) => [k, i]));
    assert.deepEqual(recordScalars(index, record), Object.fromEntries(Object.values(expected).map((tag, i) => [tag, i])));
    assert.throws(() => recordScalars(index, { ...record, qMax: 1 }), {
      message: 'metric "qMax" in the iteration record has no MetricSpec (declare it where it is produced, with its TensorBoard group)',
    });
  });

  it('refuses a metric declared twice, such as an algorithm\'s own `iteration`', () => {
    assert.throws(() => metricIndex([...loopMetrics, { key: 'iteration', group: 'train', reduce: 'last' }]), {
      message: 'metric "iteration" is declared twice (runtime/ and train/)',
    });
  });
});
