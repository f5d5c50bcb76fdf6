import { strict as assert } from 'node:assert';
import { drawSplit, RULES, trial } from '../bench/eval-stop';
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
  // Every episode of a checkpoint returns the same, so evaluation and held-out score are that value whatever the split.
  const checkpoint = (iteration: number, value: number) => ({ iteration, envSteps: iteration * 1000, wallSeconds: iteration, returns: Array<number>(100).fill(value), secondsPerEpisode: 0.007 });
  const run = [checkpoint(5, 100), checkpoint(10, 230), checkpoint(15, 225), checkpoint(20, 250)];
  const [once, twice, fifty] = RULES;
  // 100 episodes on 16 envs take 7 rounds (0.7 s here); 20 take 2, 50 take 4.
  const cost = (episodes: number) => (0.7 * Math.ceil(episodes / 16)) / 7;

  it('stops at the first evaluation over the threshold, or the second in a row, and keeps the best evaluated, not the latest', () => {
    const first = trial(run, once, 220, new Rng(0));
    assert.deepEqual({ ...first, wallSeconds: first.wallSeconds.toFixed(9) }, { stopped: true, reliable: true, kept: 10, envSteps: 10_000, wallSeconds: (10 + 2 * cost(20)).toFixed(9), evalEpisodes: 40 });
    const second = trial(run, twice, 220, new Rng(0));
    assert.deepEqual([second.stopped, second.kept, second.envSteps, second.evalEpisodes], [true, 10, 15_000, 60]); // 230 then 225: 230 is kept
    assert.equal(trial(run, fifty, 220, new Rng(0)).wallSeconds.toFixed(9), (10 + 2 * cost(50)).toFixed(9));
  });

  it('calls a stop unreliable when the kept policy scores under 200', () => {
    assert.deepEqual([trial(run, once, 90, new Rng(0)).reliable, trial(run, once, 90, new Rng(0)).kept], [false, 5]);
  });

  it('runs to the last checkpoint when the rule never holds, and says it did not stop', () => {
    const r = trial(run, twice, 245, new Rng(0)); // 250 at iteration 20 only: once, not twice
    assert.deepEqual([r.stopped, r.envSteps, r.kept, r.reliable], [false, 20_000, 20, true]);
  });

  it('splits the episodes into an evaluation and a disjoint held-out 50, each a uniform draw', () => {
    const rng = new Rng(1);
    const hits = Array<number>(100).fill(0);
    for (let t = 0; t < 4000; t++) {
      const { evaluation, heldOut } = drawSplit(100, 20, rng);
      assert.equal(new Set([...evaluation, ...heldOut]).size, 70);
      for (const i of evaluation) hits[i] += 1;
    }
    // Each episode is in 20 % of evaluations: 800 of 4000, sd about 25.
    assert.ok(Math.min(...hits) > 700 && Math.max(...hits) < 900, `hits ${Math.min(...hits)}..${Math.max(...hits)}`);
    assert.throws(() => drawSplit(100, 60, rng), /60 \+ 50 episodes asked of 100/);
  });
});
