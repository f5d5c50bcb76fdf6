import { strict as assert } from 'node:assert';
import { Rng, deriveSeed } from '../core/rng';
import { seedStreams } from '../core/seed-streams';

/** Every seed one run derives (8 workers of 16 envs, 3 incarnations each, 20 evaluation rounds), named. */
function runSeeds(seed: number): [name: string, seed: number][] {
  const s = seedStreams(seed);
  const out: [string, number][] = [['init', s.init], ['learner', s.learner]];
  for (let w = 0; w < 8; w++) {
    out.push([`workerActions(${w})`, s.workerActions(w)]);
    out.push([`workerMatchups(${w})`, s.workerMatchups(w)]);
    for (let i = 0; i < 16; i++) for (let inc = 0; inc < 3; inc++) out.push([`workerEnv(${w}, ${i}, ${inc})`, s.workerEnv(w, i, inc)]);
  }
  for (let r = 0; r < 20; r++) {
    const e = s.evaluation(r);
    out.push([`evaluation(${r}).actions`, e.actions]);
    for (let i = 0; i < 16; i++) out.push([`evaluation(${r}).env(${i})`, e.env(i)]);
  }
  return out;
}

describe('Seed streams', () => {
  it('give every stream of a run its own seed, and the generators they seed share no state word', () => {
    for (const seed of [0, 1, 2, 12345]) {
      const seen = new Map<number, string>();
      const claim = (value: number, name: string) => {
        const v = value >>> 0;
        assert.equal(seen.get(v), undefined, `seed ${seed}: ${name} (${v}) is also ${seen.get(v)}`);
        seen.set(v, name);
      };
      for (const [name, s] of runSeeds(seed)) {
        claim(s, name);
        // new Rng(s) fills its state with deriveSeed(s, 0..3): those words must not be another stream's seed either.
        new Rng(s).getState().forEach((word, k) => claim(word, `word ${k} of new Rng(${name})`));
      }
    }
  });

  it('no longer start the network initialisation on worker 1\'s env stream (deriveSeed chains)', () => {
    // The defect: deriveSeed(deriveSeed(s, a), b) === deriveSeed(s, a, b), so the old init generator
    // new Rng(deriveSeed(0, 1)) held exactly worker 1's env seeds deriveSeed(0, 1, i) as its state.
    assert.equal(deriveSeed(deriveSeed(0, 1), 2), deriveSeed(0, 1, 2));
    assert.deepEqual(new Rng(deriveSeed(0, 1)).getState(), [0, 1, 2, 3].map((i) => deriveSeed(0, 1, i) | 0));
    const s = seedStreams(0);
    const init = new Rng(s.init).getState();
    for (let i = 0; i < 16; i++) {
      const env = new Rng(s.workerEnv(1, i, 0)).getState();
      assert.notDeepEqual(env, init);
      assert.ok(!init.includes(s.workerEnv(1, i, 0) | 0), `env ${i}`);
    }
  });

  it('are the same for the same seed and differ between seeds', () => {
    assert.deepEqual(runSeeds(7), runSeeds(7));
    const a = runSeeds(7).map(([, v]) => v);
    const b = runSeeds(8).map(([, v]) => v);
    assert.ok(a.every((v, i) => v !== b[i]));
  });
});
