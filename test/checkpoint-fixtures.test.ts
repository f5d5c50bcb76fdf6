import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 } from '@node-rs/crc32';
import { CHECKPOINT_FORMAT, listCheckpoints, loadCheckpoint, readMetadata } from '../src/checkpoint';
import { checkTensorsFit } from '../src/checkpoint/fit';
import { migrate } from '../src/checkpoint/migrate';
import { startViewServer } from '../src/view/server';
import { BadCheckpointError } from '../core/errors';
import { rl, root } from './helpers/cli';

const fixtures = path.join(root, 'test', 'fixtures', 'checkpoints');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-fixtures-'));

/** A fresh copy of a committed fixture run dir (the commands write into a run dir; the fixture stays as committed). */
function copyOf(fixture: string, name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(fixture, dir, { recursive: true });
  return dir;
}

function get(base: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(new URL(url, base), (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const formats = fs.readdirSync(fixtures).filter((n) => /^format-\d+$/.test(n)).sort();

describe('checkpoint fixtures: every format this version reads still loads', () => {
  it('has a fixture folder for every format from 1 to the one this version writes', () => {
    assert.deepEqual(formats, Array.from({ length: CHECKPOINT_FORMAT }, (_, i) => `format-${i + 1}`));
  });

  for (const format of formats) {
    for (const run of fs.readdirSync(path.join(fixtures, format)).filter((n) => fs.statSync(path.join(fixtures, format, n)).isDirectory())) {
      const fixture = path.join(fixtures, format, run);
      describe(`${format}/${run}`, () => {
        it('loads through the one load path, in this version format', () => {
          const ckpt = loadCheckpoint(listCheckpoints(fixture).at(-1)!);
          assert.equal(ckpt.metadata.formatVersion, CHECKPOINT_FORMAT);
          assert.ok(ckpt.algorithm.tensors.some((t) => t.name.startsWith('weights/')));
        });

        it('is scored by rl evaluate', () => {
          const r = rl(['evaluate', '--checkpoint', copyOf(fixture, `${format}-${run}-eval`), '--episodes', '3', '--json']);
          assert.equal(r.status, 0, r.stderr);
          const result = JSON.parse(r.stdout);
          assert.equal(result.episodes, 3);
          assert.ok(result.returnMean >= 8 && result.returnMean <= 500, `CartPole return ${result.returnMean}`);
        });

        it('is exported by rl export as a JS module that picks actions', async () => {
          const out = path.join(tmp, `${format}-${run}.mjs`);
          const r = rl(['export', '--checkpoint', copyOf(fixture, `${format}-${run}-export`), '--format', 'js', '--out', out]);
          assert.equal(r.status, 0, r.stderr);
          const mod = await import(pathToFileURL(out).href);
          for (const obs of [[0, 0, 0.05, 0], [0, 0, -0.05, 0]]) assert.ok([0, 1].includes(mod.act(obs)), `act(${obs}) = ${mod.act(obs)}`);
        });

        it('is resumed by rl train --resume for two more iterations, writing a checkpoint of this version format', () => {
          const dir = copyOf(fixture, `${format}-${run}-resume`);
          const before = readMetadata(listCheckpoints(dir).at(-1)!).iteration;
          const r = rl(['train', '--resume', dir, '--set', `stop.iterations=${before + 2}`]);
          assert.equal(r.status, 0, r.stderr);
          const latest = listCheckpoints(dir).at(-1)!;
          assert.equal(path.basename(latest), `iter_${String(before + 2).padStart(6, '0')}`);
          const ckpt = loadCheckpoint(latest);
          assert.equal(ckpt.metadata.formatVersion, CHECKPOINT_FORMAT);
          assert.equal(ckpt.metadata.iteration, before + 2);
        });

        it("is shown by rl view's API: its checkpoints, and each one's policy as a module", async () => {
          const dir = copyOf(fixture, `${format}-${run}-view`);
          const server = await startViewServer({ runDir: dir, port: 0, host: '127.0.0.1' });
          try {
            const info = JSON.parse((await get(server.url, '/api/run')).body);
            const names = info.checkpoints.map((c: { name: string }) => c.name);
            assert.deepEqual([...names].sort(), fs.readdirSync(path.join(dir, 'checkpoints')).sort());
            for (const name of names) {
              const policy = await get(server.url, `/api/policy/${name}.js`);
              assert.equal(policy.status, 200, policy.body);
            }
          } finally {
            await server.close();
          }
        });
      });
    }
  }
});

describe('checkpoint migration', () => {
  it('refuses a checkpoint of a newer format in one line naming it and the version that wrote it', () => {
    assert.throws(() => migrate('ckpt', { formatVersion: CHECKPOINT_FORMAT + 1, packageVersion: '9.0.0' }, []), {
      name: 'BadCheckpointError',
      message: `ckpt: checkpoint format ${CHECKPOINT_FORMAT + 1} (written by rl-zmq 9.0.0); this version reads formats up to ${CHECKPOINT_FORMAT} (use the version that wrote it, or a newer one)`,
    });
  });

  it('calls a checkpoint whose formatVersion is not a whole number from 1 damaged', () => {
    for (const v of [0, 1.5, '1', null]) {
      assert.throws(() => migrate('ckpt', { formatVersion: v }, []), (e: unknown) => e instanceof BadCheckpointError && e.message === `ckpt: damaged checkpoint (metadata.json formatVersion ${JSON.stringify(v)} is not a format number)`);
    }
  });

  it('leaves a checkpoint of this version format as it is', () => {
    const tensors = [{ name: 'weights/w', shape: [1], data: new Float32Array([3]) }];
    const out = migrate('ckpt', { formatVersion: CHECKPOINT_FORMAT, x: 1 }, tensors);
    assert.deepEqual(out, { metadata: { formatVersion: CHECKPOINT_FORMAT, x: 1 }, tensors });
  });
});

/**
 * A copy of the PPO fixture's run dir whose newest checkpoint `edit` changed (its metadata, its
 * tensors index), with the checksums made to match again, as whoever crafts a file would.
 */
function crafted(name: string, edit: (c: { metadata: Record<string, any>; index: { name: string; shape: number[]; offset: number }[] }) => void): { run: string; ckpt: string } {
  const run = copyOf(path.join(fixtures, 'format-1', 'ppo-cartpole'), `crafted-${name}`);
  const ckpt = listCheckpoints(run).at(-1)!;
  const metadata = JSON.parse(fs.readFileSync(path.join(ckpt, 'metadata.json'), 'utf8'));
  const index = JSON.parse(fs.readFileSync(path.join(ckpt, 'tensors.json'), 'utf8'));
  edit({ metadata, index });
  fs.writeFileSync(path.join(ckpt, 'tensors.json'), JSON.stringify(index));
  metadata.checksums['tensors.json'] = crc32(fs.readFileSync(path.join(ckpt, 'tensors.json')));
  fs.writeFileSync(path.join(ckpt, 'metadata.json'), JSON.stringify(metadata, null, 2));
  return { run, ckpt };
}

/** `rl evaluate` and `rl train --resume` of `run` both fail with exit 2 and exactly one line: `error: ` then `message`. */
function refusedByEvaluateAndResume(run: string, message: string | RegExp): void {
  for (const args of [['evaluate', '--checkpoint', run, '--episodes', '1'], ['train', '--resume', run, '--set', 'stop.iterations=5']]) {
    const r = rl(args);
    assert.equal(r.status, 2, `rl ${args[0]}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, `rl ${args[0]}: ${r.stderr}`);
    if (typeof message === 'string') assert.equal(r.stderr, `error: ${message}\n`, `rl ${args[0]}`);
    else assert.match(r.stderr, message, `rl ${args[0]}`);
  }
}

describe('crafted checkpoints (issue 20)', () => {
  it('refuses a PPO checkpoint whose metadata names dqn as damaged, in one line (a TypeError on perWorkerEpsilon before)', () => {
    const { run, ckpt } = crafted('dqn-name', (c) => (c.metadata.algorithm = 'dqn'));
    refusedByEvaluateAndResume(run, `${ckpt}: damaged checkpoint (metadata.json names algorithm "dqn", its config "ppo")`);
  });

  it('refuses PPO tensors under metadata and a config that both say dqn as a checkpoint of another kind', () => {
    const { run, ckpt } = crafted('dqn-both', (c) => {
      c.metadata.algorithm = 'dqn';
      c.metadata.config.algorithm = 'dqn';
      delete c.metadata.config.ppo;
      c.metadata.config.stop.envSteps = 100_000;
    });
    for (const args of [['evaluate', '--checkpoint', run, '--episodes', '1'], ['train', '--resume', run, '--set', 'stop.iterations=5']]) {
      const r = rl(args);
      assert.equal(r.status, 2, `rl ${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: ${ckpt}: checkpoint of another kind[^\\n]*q/0/w[^\\n]*\\n$`), `rl ${args[0]}`);
    }
  });

  it('refuses a checkpoint whose algorithm is named "constructor" as damaged, in one line (module.policySpec is not a function before)', () => {
    const { run, ckpt } = crafted('constructor', (c) => (c.metadata.algorithm = 'constructor'));
    refusedByEvaluateAndResume(run, `${ckpt}: damaged checkpoint (metadata.json names algorithm "constructor", its config "ppo")`);
  });

  it('refuses a transposed weight matrix in rl evaluate in one line (a tfjs matMul assertion before)', () => {
    const { run, ckpt } = crafted('transposed-eval', (c) => {
      const e = c.index.find((t) => t.name === 'weights/pi/0/w')!;
      e.shape = [e.shape[1], e.shape[0]];
    });
    const r = rl(['evaluate', '--checkpoint', run, '--episodes', '1']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: ${ckpt}: checkpoint of another kind: its weights do not fit a ppo policy of the model of its config \\([^\\n]*\\)\\n$`));
  });

  it('refuses to resume a transposed weight matrix, checking shapes exactly, not only sizes (resumed silently before)', () => {
    const { run, ckpt } = crafted('transposed-resume', (c) => {
      const e = c.index.find((t) => t.name === 'weights/pi/0/w')!;
      e.shape = [e.shape[1], e.shape[0]];
    });
    const r = rl(['train', '--resume', run, '--set', 'stop.iterations=5']);
    assert.equal(r.status, 2, r.stdout);
    assert.equal(r.stderr, `error: ${ckpt}: damaged checkpoint (weights/default/pi/0/w has the shape [16, 4]; the ppo model of its config needs [4, 16])\n`);
    assert.deepEqual(listCheckpoints(run), [ckpt], 'nothing trained, nothing written');
  });

  it('refuses tensor names with ../ as damaged, in rl evaluate and on resume (a RangeError on resume before)', () => {
    const { run, ckpt } = crafted('dot-dot', (c) => (c.index[0].name = '../../etc/passwd'));
    refusedByEvaluateAndResume(run, `${ckpt}: damaged checkpoint (tensors.json entry 0 has the name "../../etc/passwd", not a tensor name (words joined by /))`);
  });

  it('refuses a policy weight the model does not have on resume, as a checkpoint of another kind', () => {
    const { run, ckpt } = crafted('stray', (c) => (c.index.find((t) => t.name === 'optimizer/000')!.name = 'weights/extra'));
    const r = rl(['train', '--resume', run, '--set', 'stop.iterations=5']);
    assert.equal(r.status, 2, r.stdout);
    assert.equal(r.stderr, `error: ${ckpt}: checkpoint of another kind (weights/default/extra is no weight of a ppo model of its config)\n`);
  });

  it('refuses to resume env state the env cannot take back (its wrappers changed since), naming the checkpoint and the env (a TypeError before)', () => {
    const run = copyOf(path.join(fixtures, 'format-1', 'ppo-cartpole'), 'crafted-env-state');
    const ckpt = listCheckpoints(run).at(-1)!;
    const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'state.json'), 'utf8'));
    // As saved before CartPole had its TimeLimit: the bare env's state, no { elapsed, env } around it.
    const envs = state.runtime.workers[0].envs;
    envs.envs = envs.envs.map((e: { env: unknown }) => e.env);
    fs.writeFileSync(path.join(ckpt, 'state.json'), JSON.stringify(state));
    const metadata = JSON.parse(fs.readFileSync(path.join(ckpt, 'metadata.json'), 'utf8'));
    metadata.checksums['state.json'] = crc32(fs.readFileSync(path.join(ckpt, 'state.json')));
    fs.writeFileSync(path.join(ckpt, 'metadata.json'), JSON.stringify(metadata, null, 2));
    const r = rl(['train', '--resume', run, '--set', 'stop.iterations=5']);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^error: ${ckpt}: the env state saved in it does not load into CartPole-v1 \\([^\\n]+\\); the env changed since it was saved: resume with the env code that wrote it, or start a new run\\n$`));
    assert.deepEqual(listCheckpoints(run), [ckpt], 'nothing trained, nothing written');
  });

  it('checks policy weights one for one by exact shape on resume, and leaves tensors of another size beyond them to the algorithm', () => {
    const t = (name: string, shape: number[]) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const model = [t('weights/w', [4, 2]), t('target/w', [4, 2]), t('replay/obs', [100, 4]), t('optimizer/000', [])];
    checkTensorsFit('c', 'dqn', model, [t('weights/w', [4, 2]), t('target/w', [4, 2]), t('replay/obs', [50, 4]), t('optimizer/000', []), t('optimizer/001', [8])]);
    checkTensorsFit('c', 'dqn', model, [t('weights/w', [4, 2])]);
    assert.throws(() => checkTensorsFit('c', 'dqn', model, [t('weights/w', [4, 2]), t('target/w', [2, 4])]), { message: 'c: damaged checkpoint (target/w has the shape [2, 4]; the dqn model of its config needs [4, 2])' });
    assert.throws(() => checkTensorsFit('c', 'dqn', model, [t('weights/w', [4, 3])]), { message: 'c: damaged checkpoint (weights/w has the shape [4, 3]; the dqn model of its config needs [4, 2])' });
    assert.throws(() => checkTensorsFit('c', 'dqn', model, [t('target/w', [4, 2])]), { message: 'c: checkpoint of another kind (it holds no weights/w [4, 2], which a dqn model of its config has)' });
  });
});
