import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithms, registerAlgorithm } from '../algorithms';
import { policySpecOf, type ModelConfig } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import { train } from '../src/runtime/learner';
import './helpers/toy-register';
import { toy } from './helpers/toy-algorithm';

const root = path.resolve(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The code of a file without its comments (block, line and JSDoc), strings kept. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Lines of `text`'s code (comments left out) that name one of the algorithms or start a string with one of their tensor prefixes. */
function crossings(file: string, text: string, names: string[], prefixes: Set<string>): string[] {
  const found: string[] = [];
  code(text)
    .split('\n')
    .forEach((line, i) => {
      for (const n of names) if (new RegExp(`['"\`/.]${n}\\b|\\b${n}[.:]`, 'i').test(line)) found.push(`${file}:${i + 1}: algorithm name ${n}: ${line.trim()}`);
      for (const p of prefixes) if (new RegExp(`['"\`]${p.replace('/', '\\/')}`).test(line)) found.push(`${file}:${i + 1}: tensor name ${p}: ${line.trim()}`);
    });
  return found;
}

describe('the seam between the runtime and the algorithms', () => {
  it("src/ names no algorithm and none of an algorithm's tensors: the runtime never asks which algorithm it runs", () => {
    const model: ModelConfig = { hiddenSizes: [4], activation: 'tanh', sharedLayers: false };
    const observationSpace = { type: 'Box' as const, shape: [3], low: [0, 0, 0], high: [1, 1, 1] };
    const actionSpaces = [{ type: 'Discrete' as const, n: 2 }, { type: 'Box' as const, shape: [2], low: [-1, -1], high: [1, 1] }];
    const names = Object.keys(algorithms);
    // Each algorithm's tensor names' first parts (`pi/`, `vf/`, `q/`, ...): the shapes of its heads, for the action spaces it takes.
    const prefixes = new Set<string>();
    for (const m of Object.values(algorithms)) {
      const taken = actionSpaces.flatMap((actionSpace) => {
        const spec = policySpecOf({ config: m.configSchema.parse({}), model, observationSpace, actionSpace }, { algorithm: m.name, columns: [] });
        try {
          return [m.weightShapes(spec)];
        } catch (e) {
          if (e instanceof ConfigError) return []; // an action space it refuses (DQN and toy: Box; SAC: Discrete)
          throw e;
        }
      });
      assert.ok(taken.length > 0, `${m.name} takes neither action space`);
      for (const t of taken.flat()) prefixes.add(`${t.name.split('/')[0]}/`);
    }
    assert.ok(names.length >= 3 && prefixes.size >= 3, `${names} ${[...prefixes]}`);
    const found = tsFiles(path.join(root, 'src')).flatMap((file) => crossings(path.relative(root, file), fs.readFileSync(file, 'utf8'), names, prefixes));
    assert.deepEqual(found, []);
  });

  it('that check finds an algorithm named in code and a head tensor named in a string, and skips comments', () => {
    const text = ["const section = cfg['ppo'];", "const w = weight('pi/out/w');", '// dqn and pi/ in a comment', '/** ppo.lr */ const lr = 1;'].join('\n');
    assert.deepEqual(crossings('x.ts', text, ['ppo', 'dqn'], new Set(['pi/'])), [
      "x.ts:1: algorithm name ppo: const section = cfg['ppo'];",
      "x.ts:2: tensor name pi/: const w = weight('pi/out/w');",
    ]);
  });

  it('refuses an env that gives action masks to an algorithm whose policies ignore them, in one line, before anything trains', async () => {
    // The shipped algorithms all honour masks: a copy of the toy module that says it does not.
    if (!algorithms['toy-blind']) registerAlgorithm({ ...toy, name: 'toy-blind', actionMasks: false });
    await assert.rejects(
      train({ algorithm: 'toy-blind', env: { id: 'MaskedCorridor-v0' }, stop: { iterations: 1 } }, { log: () => {} }),
      (e: unknown) => e instanceof ConfigError && e.message === 'env MaskedCorridor-v0 gives action masks (actionMask()), and algorithm toy-blind does not use them: it would pick illegal actions',
    );
  });
});
