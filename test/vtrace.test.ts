import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeGae } from '../algorithms/common/gae';
import { vtrace, type VtraceInput } from '../algorithms/common/vtrace';
import { Rng } from '../core/rng';
import { assertClose } from './helpers/assert-close';

const root = path.resolve(__dirname, '..', '..');

/** One env of three steps, gamma 0.9: rewards 1, values 3, 2, 1.5, the rest as each test says. */
function three(over: Partial<VtraceInput>): VtraceInput {
  return {
    rewards: Float32Array.of(1, 1, 1),
    values: Float32Array.of(3, 2, 1.5),
    nextValues: Float32Array.of(2, 1.5, 2),
    logRhos: new Float32Array(3),
    terminated: new Uint8Array(3),
    truncated: new Uint8Array(3),
    numEnvs: 1,
    length: 3,
    gamma: 0.9,
    rhoBar: 1,
    cBar: 1,
    ...over,
  };
}

describe('V-trace', () => {
  // Ratios 0.5, 1, 1 (pi/mu); the batch ends after step 2 (bootstrap value 2).
  //   t2: rho 1,   delta = 1 + 0.9*2 - 1.5 = 1.3                   v2 = 1.5 + 1.3 = 2.8
  //   t1: rho 1,   delta = 1 + 0.9*1.5 - 2 = 0.35, + 0.9*1*1.3    v1 = 2 + 1.52 = 3.52
  //   t0: rho 0.5, delta = 0.5*(1 + 0.9*2 - 3) = -0.1, + 0.9*0.5*1.52 = 0.584   v0 = 3.584
  //   pg: t2 1.3; t1 1 + 0.9*2.8 - 2 = 1.52; t0 0.5*(1 + 0.9*3.52 - 3) = 0.584
  it('weighs each correction by the clipped ratios before it (hand-worked, three steps)', () => {
    const out = vtrace(three({ logRhos: Float32Array.of(Math.log(0.5), 0, 0) }));
    assertClose(out.vs, [3.584, 3.52, 2.8], 1e-5, 'vs');
    assertClose(out.pgAdvantages, [0.584, 1.52, 1.3], 1e-5, 'pgAdvantages');
    assertClose([out.meanRho], [2.5 / 3], 1e-6, 'meanRho');
  });

  // The same with lambda 0.5: c0 = 0.25, c1 = 0.5.
  //   t1: 0.35 + 0.9*0.5*1.3 = 0.935   v1 = 2.935
  //   t0: -0.1 + 0.9*0.25*0.935 = 0.110375   v0 = 3.110375;  pg0 = 0.5*(1 + 0.9*2.935 - 3) = 0.32075
  it("scales the traces by the paper's lambda", () => {
    const out = vtrace(three({ logRhos: Float32Array.of(Math.log(0.5), 0, 0), lambda: 0.5 }));
    assertClose(out.vs, [3.110375, 2.935, 2.8], 1e-5, 'vs');
    assertClose(out.pgAdvantages, [0.32075, 1.52, 1.3], 1e-5, 'pgAdvantages');
  });

  // Ratio 2 at t0 is clipped: to 1 by rhoBar 1 (the case above with rho0 = 1: -0.2 + 0.9*1.52 = 1.168),
  // to 2 with rhoBar 2 and cBar 1 (-0.4 + 0.9*1*1.52 = 0.968), and the trace to 1.5 with cBar 1.5 (-0.4 + 0.9*1.5*1.52 = 1.652).
  // The policy-gradient weight has its own clip: pgRhoBar 1 gives 1 + 0.9*3.52 - 3 = 1.168.
  it('clips the importance weights at rhoBar, the traces at cBar and the policy-gradient weight at pgRhoBar', () => {
    const ratio2 = Float32Array.of(Math.log(2), 0, 0);
    assertClose([vtrace(three({ logRhos: ratio2 })).vs[0]], [3 + 1.168], 1e-5, 'rhoBar 1');
    assertClose([vtrace(three({ logRhos: ratio2, rhoBar: 2 })).vs[0]], [3 + 0.968], 1e-5, 'rhoBar 2');
    assertClose([vtrace(three({ logRhos: ratio2, rhoBar: 2, cBar: 1.5 })).vs[0]], [3 + 1.652], 1e-5, 'cBar 1.5');
    assertClose([vtrace(three({ logRhos: ratio2, rhoBar: 2, pgRhoBar: 1 })).pgAdvantages[0]], [1.168], 1e-5, 'pgRhoBar 1');
    assertClose([vtrace(three({ logRhos: ratio2, rhoBar: 2 })).pgAdvantages[0]], [2 * 1.168], 1e-5, 'pgRhoBar = rhoBar 2');
  });

  // Ratios 2, 0.5, 0.5; step 1 truncated (V(final observation) = 4), step 2 a new episode.
  //   t2: 0.5*(1 + 1.8 - 1.5) = 0.65          v2 = 2.15, pg2 0.65
  //   t1: 0.5*(1 + 0.9*4 - 2) = 1.3, no trace past the truncation: v1 = 3.3, pg1 = 1.3 (v_{t+1} is V(final) = 4)
  //   t0: 1*(1 + 1.8 - 3) = -0.2, + 0.9*1*1.3   v0 = 3.97, pg0 = 1 + 0.9*3.3 - 3 = 0.97
  it('bootstraps a truncation from its final observation and starts a new segment there', () => {
    const out = vtrace(three({ logRhos: Float32Array.of(Math.log(2), Math.log(0.5), Math.log(0.5)), nextValues: Float32Array.of(2, 4, 2), truncated: Uint8Array.of(0, 1, 0) }));
    assertClose(out.vs, [3.97, 3.3, 2.15], 1e-5, 'vs');
    assertClose(out.pgAdvantages, [0.97, 1.3, 0.65], 1e-5, 'pgAdvantages');
  });

  // The same with step 1 terminated: t1: 0.5*(1 - 2) = -0.5, v1 = 1.5, pg1 = -0.5; t0: -0.2 + 0.9*(-0.5) = -0.65, v0 = 2.35,
  // pg0 = 1 + 0.9*1.5 - 3 = -0.65.
  it('bootstraps nothing past a termination', () => {
    const out = vtrace(three({ logRhos: Float32Array.of(Math.log(2), Math.log(0.5), Math.log(0.5)), nextValues: Float32Array.of(2, 4, 2), terminated: Uint8Array.of(0, 1, 0) }));
    assertClose(out.vs, [2.35, 1.5, 2.15], 1e-5, 'vs');
    assertClose(out.pgAdvantages, [-0.65, -0.5, 0.65], 1e-5, 'pgAdvantages');
  });

  it('on-policy (every ratio 1) gives the n-step returns and the advantages of GAE with lambda 1, and with lambda 0.9 its lambda-returns, envs apart', () => {
    const rng = new Rng(7);
    const numEnvs = 3;
    const length = 40;
    const rows = numEnvs * length;
    const rand = () => Float32Array.from({ length: rows }, () => rng.normal());
    const terminated = Uint8Array.from({ length: rows }, () => (rng.random() < 0.05 ? 1 : 0));
    const truncated = Uint8Array.from({ length: rows }, (_, i) => (!terminated[i] && rng.random() < 0.05 ? 1 : 0));
    const values = rand();
    const nextValues = new Float32Array(rows);
    nextValues.set(values.subarray(numEnvs)); // inside an episode: the next row's value
    for (let i = 0; i < rows; i++) if (truncated[i] || i >= rows - numEnvs) nextValues[i] = rng.normal(); // a final or bootstrap observation's
    const input = { rewards: rand(), values, nextValues, terminated, truncated, numEnvs, length, gamma: 0.97 };
    const gae = computeGae({ ...input, lambda: 1 });
    const out = vtrace({ ...input, logRhos: new Float32Array(rows), rhoBar: 1, cBar: 1 });
    assertClose(out.vs, gae.returns, 1e-4, 'vs against GAE returns');
    assertClose(out.pgAdvantages, gae.advantages, 1e-4, 'pgAdvantages against GAE advantages');
    // With lambda < 1 the value targets are GAE's lambda-returns (the advantage, r + gamma v_{s+1} - V, is not GAE's then).
    const gae9 = computeGae({ ...input, lambda: 0.9 });
    assertClose(vtrace({ ...input, logRhos: new Float32Array(rows), rhoBar: 1, cBar: 1, lambda: 0.9 }).vs, gae9.returns, 1e-4, 'vs against GAE(0.9) returns');
    assert.ok(terminated.some((x) => x) && truncated.some((x) => x), 'the seeded batch has both kinds of episode end');
  });

  // test/fixtures/vtrace/reference.json: seeded random arrays and the outputs of DeepMind's
  // scalable_agent vtrace.from_importance_weights, reimplemented in numpy (float64) by
  // test/fixtures/vtrace/reference.py (/usr/bin/python3 test/fixtures/vtrace/reference.py).
  // Its layout is [T, B] time-major with discounts gamma (1 - done) and one bootstrap value per
  // env: here `done` is `terminated`, and nextValues are the next row's values and the bootstrap.
  const cases = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'vtrace', 'reference.json'), 'utf8')) as {
    T: number; B: number; gamma: number; rhoBar: number; pgRhoBar: number; logRhos: number[]; done: number[]; rewards: number[]; values: number[]; bootstrap: number[]; vs: number[]; pgAdvantages: number[];
  }[];
  cases.forEach((c, k) => {
    it(`agrees with DeepMind's reference function on seeded random arrays (case ${k + 1}: ${c.T} x ${c.B}, rhoBar ${c.rhoBar}, pgRhoBar ${c.pgRhoBar})`, () => {
      const values = Float32Array.from(c.values);
      const nextValues = new Float32Array(c.T * c.B);
      nextValues.set(values.subarray(c.B));
      nextValues.set(c.bootstrap, (c.T - 1) * c.B);
      const out = vtrace({
        rewards: Float32Array.from(c.rewards), values, nextValues, logRhos: Float32Array.from(c.logRhos), terminated: Uint8Array.from(c.done), truncated: new Uint8Array(c.T * c.B),
        numEnvs: c.B, length: c.T, gamma: c.gamma, rhoBar: c.rhoBar, cBar: 1, pgRhoBar: c.pgRhoBar,
      });
      assertClose(out.vs, c.vs, 1e-4, 'vs');
      assertClose(out.pgAdvantages, c.pgAdvantages, 1e-4, 'pgAdvantages');
    });
  });
});
