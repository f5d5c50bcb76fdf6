import { strict as assert } from 'node:assert';
import { slope, soakVerdict } from '../bench/soak';

const minutes = (rss: number[], tensors: number[] = rss.map(() => 40)) =>
  rss.map((rssMB, i) => ({ minute: i + 1, rssMB, heapUsedMB: 0, externalMB: 0, numTensors: tensors[i], iteration: 0, envSteps: 0 }));

describe('The soak bench verdict', () => {
  it('fits a least-squares slope: 1, 3, 5 over minutes 1-3 rise 2 a minute', () => {
    assert.equal(slope([1, 2, 3], [1, 3, 5]), 2);
  });

  it('calls a start-up rise that levels off level: only the second half of the minutes counts', () => {
    const v = soakVerdict(minutes([190, 400, 450, 452, 451, 452, 453, 452, 452, 453]));
    assert.equal(v.leak, false, v.line);
    assert.match(v.line, /^RSS slope over minutes 6-10: 0\.\d\d MB\/min .*: level$/);
  });

  it('calls 2 MB a minute to the end a leak, and so one tensor more at the end than at minute 1', () => {
    assert.equal(soakVerdict(minutes([200, 210, 212, 214, 216, 218])).leak, true);
    assert.equal(soakVerdict(minutes([200, 200, 200], [40, 40, 41])).leak, true);
  });
});
