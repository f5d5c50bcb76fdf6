import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, envSpec, makeEnv } from '../envs';
import { MinAtarEnv } from '../envs/minatar';

const GAMES = ['Asterix', 'Breakout', 'Freeway', 'Seaquest', 'SpaceInvaders'].filter((g) => envSpecOrNull(`MinAtar/${g}-v0`));

function envSpecOrNull(id: string): boolean {
  try {
    envSpec(id);
    return true;
  } catch {
    return false;
  }
}

interface Figure {
  mean: number;
  std: number;
  se: number;
}

/** test/fixtures/minatar/reference.json: what the reference MinAtar does (see reference.py there). */
interface Reference {
  episodes: number;
  stats: Record<string, { return: Figure; length: Figure }>;
  traces: Record<string, { draws: number[]; steps: string[] }>;
}

const reference = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'minatar', 'reference.json'), 'utf8')) as Reference;

/** A generator that hands out recorded uniforms k / 2^32, as reference.py's scripted one does. */
class ScriptedRng extends Rng {
  used = 0;

  constructor(private readonly draws: readonly number[]) {
    super(0);
  }

  override random(): number {
    if (this.used >= this.draws.length) throw new Error(`the game drew more than the reference's ${this.draws.length} uniforms`);
    return this.draws[this.used++] / 2 ** 32;
  }
}

const digest = (obs: Uint8Array) => createHash('sha1').update(obs).digest('hex').slice(0, 8);

describe('MinAtar', () => {
  it('plays the reference\'s frames, given its uniforms and actions', () => {
    for (const game of GAMES) {
      const env = makeEnv(`MinAtar/${game}-v0`) as MinAtarEnv;
      const { draws, steps } = reference.traces[game];
      const rng = new ScriptedRng(draws);
      (env as unknown as { rng: Rng }).rng = rng;
      for (let i = 0; i < steps.length; i++) {
        const [first, ...rest] = steps[i].split(' ');
        let line: string;
        if (first === 'reset') line = `reset ${digest(env.reset().obs as Uint8Array)}`;
        else {
          const r = env.step(Number(first));
          line = `${first} ${r.reward} ${r.terminated ? 1 : 0} ${digest(r.obs as Uint8Array)}`;
          void rest;
        }
        assert.equal(line, steps[i], `${game}: line ${i} of the trace (after ${rng.used} draws)`);
      }
      assert.equal(rng.used, draws.length, `${game}: draws used`);
    }
  });
});
