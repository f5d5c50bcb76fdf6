import { strict as assert } from 'node:assert';
import { RULES, trial } from '../bench/eval-stop';
import { Rng } from '../core/rng';
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

describe('bench eval-stop: a replayed run under a stop rule', () => {
  // Every episode of a checkpoint returns the same, so an evaluation's draw is that value whatever the generator.
  const checkpoint = (iteration: number, pool: number, heldOut: number) => ({
    iteration,
    envSteps: iteration * 1000,
    wallSeconds: iteration,
    returns: [...Array<number>(50).fill(pool), ...Array<number>(50).fill(heldOut)],
    secondsPerEpisode: 0.01,
  });
  const run = [checkpoint(5, 100, 100), checkpoint(10, 230, 190), checkpoint(15, 240, 230), checkpoint(20, 250, 240)];
  const [once, twice, fifty] = RULES;

  it('stops at the first evaluation over the threshold, or the second in a row, and keeps the best evaluated', () => {
    const first = trial(run, once, 220, new Rng(0));
    assert.deepEqual(first, { stopped: true, reliable: false, envSteps: 10_000, wallSeconds: 10 + 2 * 20 * 0.01, evalEpisodes: 40 }); // kept iteration 10: held-out 190
    const second = trial(run, twice, 220, new Rng(0));
    assert.deepEqual(second, { stopped: true, reliable: true, envSteps: 15_000, wallSeconds: 15 + 3 * 20 * 0.01, evalEpisodes: 60 }); // kept iteration 15: held-out 230
    assert.equal(trial(run, fifty, 220, new Rng(0)).wallSeconds, 10 + 2 * 50 * 0.01);
  });

  it('runs to the last checkpoint when the rule never holds, and says it did not stop', () => {
    const r = trial(run, twice, 245, new Rng(0)); // 250 at iteration 20 only: once, not twice
    assert.equal(r.stopped, false);
    assert.equal(r.envSteps, 20_000);
    assert.equal(r.reliable, true); // kept iteration 20, the best evaluated: held-out 240
  });
});
