import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { selectBackend } from '../src/backend';
import { exportPolicy } from '../src/export/export';
import { jsPolicyModule } from '../src/export/js';
import { CheckpointError, ConfigError } from '../core/errors';
import { POLICY_CASES, savePolicy, type SavedPolicy } from './helpers/export-fixture';
import { assertHeadsClose, assertSameActions } from './helpers/export-assert';
import { tfjsFolderHandler } from './helpers/tfjs-folder';

const N = 1000;

describe('rl export', function () {
  this.timeout(120_000);
  let root: string;

  before(async () => {
    await selectBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-export-'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const [i, c] of POLICY_CASES.entries()) {
    describe(c.label, () => {
      let saved: SavedPolicy;
      let obs: Float32Array;
      let ref: { actions: Float32Array; head: Float32Array };
      /** A policy of an env with action masks: seeded masks, and the actions rl evaluate takes under them. */
      let masked: { mask: Uint8Array; actions: Float32Array } | null;
      const obsSize = () => obs.length / N;
      const discrete = () => saved.spec.actionSpace.type === 'Discrete';

      before(() => {
        saved = savePolicy(path.join(root, `run-${i}`), c);
        obs = saved.observations(N, 100 + i);
        ref = saved.reference(obs, N);
        const mask = saved.spec.actionMask ? saved.masks(N, 200 + i) : null;
        masked = mask && { mask, actions: saved.reference(obs, N, mask).actions };
        if (masked) assert.notDeepEqual(masked.actions, ref.actions, 'the masks change some greedy actions');
      });

      it('exports ONNX that ONNX Runtime runs to the same greedy actions and heads within 1e-5 on 1,000 seeded observations, and seeded action masks when its env gives them', async () => {
        const file = path.join(root, `policy-${i}.onnx`);
        const written = await exportPolicy({ checkpoint: path.dirname(path.dirname(saved.dir)), format: 'onnx', out: file });
        assert.deepEqual(written, [file, `${file}.json`]);
        const session = await ort.InferenceSession.create(fs.readFileSync(file));
        try {
          assert.deepEqual([...session.inputNames], masked ? ['obs', 'mask'] : ['obs']);
          assert.deepEqual([...session.outputNames], ['action', 'head']);
          const x = new ort.Tensor('float32', obs, [N, obsSize()]);
          const n = saved.spec.actionSpace.type === 'Discrete' ? saved.spec.actionSpace.n : 0;
          const out = await session.run({ obs: x, ...(masked ? { mask: new ort.Tensor('uint8', new Uint8Array(N * n).fill(1), [N, n]) } : {}) });
          assertSameActions(out.action.data as ArrayLike<number | bigint>, ref.actions, discrete(), 'onnx');
          assertHeadsClose(out.head.data as Float32Array, ref.head, 'onnx');
          if (masked) {
            const under = await session.run({ obs: x, mask: new ort.Tensor('uint8', masked.mask, [N, n]) });
            assertSameActions(under.action.data as ArrayLike<number | bigint>, masked.actions, true, 'onnx with masks');
          }
        } finally {
          await session.release();
        }
      });

      it('exports a tfjs graph model that plain @tensorflow/tfjs loads, to the same greedy actions and heads within 1e-5 (with and without masks when its env gives them)', async () => {
        const dir = path.join(root, `tfjs-${i}`);
        await exportPolicy({ checkpoint: saved.dir, format: 'tfjs', out: dir });
        const model = await tf.loadGraphModel(tfjsFolderHandler(dir));
        const x = tf.tensor2d(obs, [N, obsSize()]);
        const [action, head] = model.execute({ obs: x }, ['action', 'head']) as tf.Tensor[];
        try {
          assertSameActions(action.dataSync(), ref.actions, discrete(), 'tfjs');
          assertHeadsClose(head.dataSync(), ref.head, 'tfjs');
          if (masked) {
            const under = tf.tidy(() => (model.execute({ obs: x, mask: tf.tensor2d(masked!.mask, [N, masked!.mask.length / N], 'int32') }, 'action') as tf.Tensor).dataSync());
            assertSameActions(under, masked.actions, true, 'tfjs with masks');
          }
        } finally {
          tf.dispose([x, action, head]);
          model.dispose();
        }
      });

      it('exports a dependency-free ES module whose act() gives the same greedy actions (act(obs, mask) those under masks) and head() the heads within 1e-5', async () => {
        const file = path.join(root, `policy-${i}.mjs`);
        await exportPolicy({ checkpoint: saved.dir, format: 'js', out: file });
        const source = fs.readFileSync(file, 'utf8');
        assert.equal(source, jsPolicyModule(saved.dir), 'jsPolicyModule gives the text rl export writes');
        assert.doesNotMatch(source, /\bimport\b|\brequire\(/, 'the module imports nothing');
        const mod = await import(pathToFileURL(file).href);
        assert.deepEqual(mod.spaces.action.type, saved.spec.actionSpace.type);
        const size = obsSize();
        // A uint8 picture goes in as the env gives it: bytes.
        const raw = saved.spec.observationSpace.type === 'Box' && saved.spec.observationSpace.dtype === 'uint8';
        const actions: number[] = [];
        const heads: number[] = [];
        for (let r = 0; r < N; r++) {
          const o = raw ? Uint8Array.from(obs.subarray(r * size, (r + 1) * size)) : Array.from(obs.subarray(r * size, (r + 1) * size));
          const a = mod.act(o);
          actions.push(...(Array.isArray(a) ? a : [a]));
          heads.push(...mod.head(o));
        }
        assertSameActions(actions, ref.actions, discrete(), 'js');
        assertHeadsClose(heads, ref.head, 'js');
        if (masked) {
          const n = masked.mask.length / N;
          const under = Array.from({ length: N }, (_, r) => mod.act(Array.from(obs.subarray(r * size, (r + 1) * size)), masked!.mask.subarray(r * n, (r + 1) * n)));
          assertSameActions(under, masked.actions, true, 'js with masks');
          assert.throws(() => mod.act(new Array(size).fill(0), new Uint8Array(n)), /act: the mask allows no action/);
        }
        assert.throws(() => mod.act(new Array(size + 1).fill(0)), new RegExp(`obs must hold ${size} numbers, got ${size + 1}`));
      });
    });
  }

  it('writes metadata naming the env, the spaces, the algorithm, the checkpoint and the package version', async () => {
    const saved = savePolicy(path.join(root, 'meta-run'), POLICY_CASES[2]);
    const file = path.join(root, 'meta', 'pendulum.onnx');
    await exportPolicy({ checkpoint: saved.dir, format: 'onnx', out: file });
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    assert.equal(meta.format, 'onnx');
    assert.equal(meta.envId, 'Pendulum-v1');
    assert.equal(meta.algorithm, 'ppo');
    assert.deepEqual(meta.actionSpace, { type: 'Box', shape: [1], low: [-2], high: [2] });
    assert.equal(meta.observationSpace.type, 'Box');
    assert.equal(meta.checkpoint.path, saved.dir);
    assert.equal(meta.packageVersion, JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it('never runs the env module a checkpoint names: the spaces come from its metadata, and one without them is refused', async () => {
    const saved = savePolicy(path.join(root, 'module-run'), POLICY_CASES[0]);
    const marker = path.join(root, 'evil-ran');
    const evil = path.join(root, 'evil.js');
    fs.writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); exports.Evil = class {};`);
    const metaFile = path.join(saved.dir, 'metadata.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    meta.envId = meta.config.env.id = `${evil}:Evil`;
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    await assert.rejects(
      exportPolicy({ checkpoint: saved.dir, format: 'js', out: path.join(root, 'module-1.js') }),
      (err: Error) => err instanceof CheckpointError && /its env is a module \(code\), which export does not run/.test(err.message),
    );
    meta.spaces = { observationSpace: saved.spec.observationSpace, actionSpace: saved.spec.actionSpace };
    fs.writeFileSync(metaFile, JSON.stringify(meta)); // infinite bounds become null, as in a written checkpoint
    await exportPolicy({ checkpoint: saved.dir, format: 'js', out: path.join(root, 'module-2.js') });
    const written = JSON.parse(fs.readFileSync(path.join(root, 'module-2.js.json'), 'utf8'));
    assert.equal(written.observationSpace.low[1], '-Infinity'); // CartPole's unbounded velocity, read back as unbounded
    assert.equal(fs.existsSync(marker), false, 'the module ran');
  });

  it('says which formats exist, and that a missing checkpoint is missing, in one line', async () => {
    await assert.rejects(exportPolicy({ checkpoint: root, format: 'pt', out: 'x' }), (err: Error) => err instanceof ConfigError && /--format \(pt\) must be one of onnx, tfjs, js/.test(err.message));
    await assert.rejects(exportPolicy({ checkpoint: path.join(root, 'nope'), format: 'onnx', out: 'x' }), (err: Error) => err instanceof CheckpointError && /nope: no such run dir or checkpoint/.test(err.message));
  });
});
