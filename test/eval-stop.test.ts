import { strict as assert } from 'node:assert';
import { stopReason, type Progress } from '../src/metrics';

/** Progress at an iteration that evaluated: `previous` and `latest` evaluation means. */
function at(previous: number | undefined, latest: number | undefined): Progress {
  return { iteration: 10, envSteps: 1000, wallSeconds: 1, episodeReturnMean: 0, evalReturnMean: latest, previousEvalReturnMean: previous };
}

describe('A stop on evaluation (stop.evalReturnMean)', () => {
  const stop = { evalReturnMean: 200 };

  it('does not stop on one evaluation at the bar: the first, or one after an evaluation below it', () => {
    assert.equal(stopReason(stop, at(undefined, 250)), undefined);
    assert.equal(stopReason(stop, at(199.9, 250)), undefined);
    assert.equal(stopReason(stop, at(250, 199.9)), undefined);
    assert.equal(stopReason(stop, at(250, undefined)), undefined); // an iteration that did not evaluate
  });

  it('stops when two evaluations in a row reach the bar, and says both', () => {
    assert.equal(stopReason(stop, at(200, 231.26)), 'evalReturnMean 200.0, then 231.3 >= 200 (two evaluations in a row)');
  });

  it('leaves the other rules as they were: a budget still stops at once', () => {
    assert.equal(stopReason({ ...stop, envSteps: 1000 }, at(undefined, 250)), 'envSteps 1000 >= 1000');
    assert.equal(stopReason({ episodeReturnMean: 0 }, at(undefined, undefined)), 'episodeReturnMean 0.0 >= 0');
  });
});
