import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { selectBackend } from '../src/backend';
import { exportPolicy } from '../src/export/export';
import { assertHeadsClose as close, assertSameActions } from './helpers/export-assert';
import { RECURRENT_CASES, savePolicy, type RecurrentSteps, type SavedPolicy } from './helpers/export-fixture';
import { tfjsFolderHandler } from './helpers/tfjs-folder';

/**
 * Exports of recurrent policies (LSTM, GRU; after a conv layer; under action masks): step by
 * step over 25 steps of 40 envs whose episodes start at random, each export carrying its own
 * state (h_next and c_next fed back as the next step's h and c, zeros where an episode starts),
 * the greedy actions equal `rl evaluate`'s, and the heads and states within 1e-5.
 */

const STEPS = 25;
const N = 40;

/** The state where episodes start: zeros in their rows. */
function zeroed(state: Float32Array, starts: Uint8Array, size: number): Float32Array {
  const out = state.slice();
  starts.forEach((s, e) => s && out.fill(0, e * size, (e + 1) * size));
  return out;
}

describe('rl export of recurrent policies', function () {
  this.timeout(120_000);
  let root: string;

  before(async () => {
    await selectBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-export-recurrent-'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const [i, c] of RECURRENT_CASES.entries()) {
    describe(c.label, () => {
      let saved: SavedPolicy;
      let ref: RecurrentSteps;
      const size = () => c.model.recurrent!.size;
      const names = () => (c.model.recurrent!.type === 'lstm' ? ['h', 'c'] : ['h']);
      const discrete = () => saved.spec.actionSpace.type === 'Discrete';
      const obsSize = () => ref.obs[0].length / N;

      before(() => {
        saved = savePolicy(path.join(root, `run-${i}`), c);
        ref = saved.steps(STEPS, N, 300 + i);
        assert.ok(ref.states[STEPS - 1].h.some((v) => v !== 0), 'the state moves');
      });

      it('exports ONNX with state inputs h (and c) and outputs h_next (and c_next) that ONNX Runtime steps to the same actions, heads and states', async () => {
        const file = path.join(root, `policy-${i}.onnx`);
        await exportPolicy({ checkpoint: saved.dir, format: 'onnx', out: file });
        const session = await ort.InferenceSession.create(fs.readFileSync(file));
        try {
          assert.deepEqual([...session.inputNames], ['obs', ...names(), ...(saved.spec.actionMask ? ['mask'] : [])]);
          assert.deepEqual([...session.outputNames], ['action', 'head', ...names().map((k) => `${k}_next`)]);
          let state: Record<string, Float32Array> = Object.fromEntries(names().map((k) => [k, new Float32Array(N * size())]));
          for (let t = 0; t < STEPS; t++) {
            const feeds: Record<string, ort.Tensor> = { obs: new ort.Tensor('float32', ref.obs[t], [N, obsSize()]) };
            for (const k of names()) feeds[k] = new ort.Tensor('float32', zeroed(state[k], ref.starts[t], size()), [N, size()]);
            const mask = ref.masks[t];
            if (mask) feeds.mask = new ort.Tensor('uint8', mask, [N, mask.length / N]);
            const out = await session.run(feeds);
            for (const k of names()) close(feeds[k].data as Float32Array, ref.states[t][k], `onnx step ${t}: state ${k}`);
            assertSameActions(out.action.data as ArrayLike<number | bigint>, ref.actions[t], discrete(), `onnx step ${t}: actions`);
            close(out.head.data as Float32Array, ref.heads[t], `onnx step ${t}: heads`);
            state = Object.fromEntries(names().map((k) => [k, out[`${k}_next`].data as Float32Array]));
          }
        } finally {
          await session.release();
        }
      });

      it('exports a tfjs graph model with state inputs and outputs that plain @tensorflow/tfjs steps to the same actions, heads and states', async () => {
        const dir = path.join(root, `tfjs-${i}`);
        await exportPolicy({ checkpoint: saved.dir, format: 'tfjs', out: dir });
        const model = await tf.loadGraphModel(tfjsFolderHandler(dir));
        try {
          let state: Record<string, Float32Array> = Object.fromEntries(names().map((k) => [k, new Float32Array(N * size())]));
          for (let t = 0; t < STEPS; t++) {
            const got = tf.tidy(() => {
              const feeds: Record<string, tf.Tensor> = { obs: tf.tensor2d(ref.obs[t], [N, obsSize()]) };
              for (const k of names()) feeds[k] = tf.tensor2d(zeroed(state[k], ref.starts[t], size()), [N, size()]);
              const mask = ref.masks[t];
              if (mask) feeds.mask = tf.tensor2d(mask, [N, mask.length / N], 'int32');
              const outs = model.execute(feeds, ['action', 'head', ...names().map((k) => `${k}_next`)]) as tf.Tensor[];
              return outs.map((o) => o.dataSync());
            });
            assertSameActions(got[0] as Int32Array, ref.actions[t], discrete(), `tfjs step ${t}: actions`);
            close(got[1], ref.heads[t], `tfjs step ${t}: heads`);
            state = Object.fromEntries(names().map((k, j) => [k, got[2 + j] as Float32Array]));
          }
        } finally {
          model.dispose();
        }
      });

      it("exports a JS module whose step(obs, state) gives the same actions, heads and states, and whose act() carries its own state until reset()", async () => {
        const file = path.join(root, `policy-${i}.mjs`);
        await exportPolicy({ checkpoint: saved.dir, format: 'js', out: file });
        const mod = await import(pathToFileURL(file).href);
        assert.deepEqual(mod.state, names().map((name) => ({ name, size: size() })));
        const raw = saved.spec.observationSpace.type === 'Box' && saved.spec.observationSpace.dtype === 'uint8';
        const row = (t: number, e: number) => (raw ? Uint8Array.from(ref.obs[t].subarray(e * obsSize(), (e + 1) * obsSize())) : Array.from(ref.obs[t].subarray(e * obsSize(), (e + 1) * obsSize())));
        const width = ref.actions[0].length / N;
        const heads = ref.heads[0].length / N;
        const states = Array.from({ length: N }, () => mod.initialState());
        for (let t = 0; t < STEPS; t++) {
          const actions: number[] = [];
          const got: number[] = [];
          for (let e = 0; e < N; e++) {
            if (ref.starts[t][e]) states[e] = mod.initialState();
            for (const k of names()) close(states[e][k], ref.states[t][k].subarray(e * size(), (e + 1) * size()), `js step ${t} env ${e}: state ${k}`);
            const mask = ref.masks[t];
            const r = mask ? mod.step(row(t, e), states[e], mask.subarray(e * heads, (e + 1) * heads)) : mod.step(row(t, e), states[e]);
            actions.push(...[r.action].flat());
            got.push(...r.head);
            states[e] = r.state;
          }
          assertSameActions(actions, ref.actions[t], discrete(), `js step ${t}: actions`);
          close(got, ref.heads[t], `js step ${t}: heads`);
        }
        // act() and reset() on env 0's steps: the module's own state, zeroed where its episodes start.
        for (let t = 0; t < STEPS; t++) {
          if (ref.starts[t][0]) mod.reset();
          const a = ref.masks[t] ? mod.act(row(t, 0), ref.masks[t]!.subarray(0, heads)) : mod.act(row(t, 0));
          assertSameActions([a].flat(), ref.actions[t].subarray(0, width), discrete(), `js act() step ${t}`);
        }
        assert.throws(() => mod.step(row(0, 0), { h: new Float32Array(1) }), new RegExp(`step: state.h must hold ${size()} numbers`));
      });
    });
  }
});
