import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, EnvError, ProtocolError } from '../core/errors';
import { Box } from '../envs';
import { CodeCache, loadShippedModule } from '../src/env-code/cache';
import { bundleEnvModule } from '../src/env-code/bundle';
import { createEnv, isShippedModule, moduleEnvId, registerShippedModule } from '../src/env-loader';

const root = path.resolve(__dirname, '..', '..');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Writes `files` (relative path -> contents) under `dir`. */
function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), contents);
  }
}

const envTs = `import { Box, Discrete, Rng } from 'rl-zmq';
import { drift } from './dynamics.ts';
import { scale } from 'tiny-dep';

export class MyEnv {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace = new Box(-10, 10, [2]);
  private x = 0;
  private rng = new Rng(0);
  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.x = this.rng.uniform(-1, 1);
    return { obs: Float32Array.from([this.x, 0]), info: {} };
  }
  step(action: number) {
    this.x = drift(this.x, action);
    return { obs: Float32Array.from([this.x, scale(action)]), reward: action, terminated: Math.abs(this.x) > 5, truncated: false, info: {} };
  }
}
`;

describe('Shipped env code', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-envcode-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The TypeScript env with a local import and an npm dependency that itself imports the framework. */
  function tsEnv(dir = tmp): string {
    writeTree(dir, {
      'env.ts': envTs,
      'dynamics.ts': 'export function drift(x: number, action: number): number {\n  return x + (action === 1 ? 0.5 : -0.5);\n}\n',
      'node_modules/tiny-dep/package.json': JSON.stringify({ name: 'tiny-dep', version: '1.0.0', main: 'index.js' }),
      'node_modules/tiny-dep/index.js': "const { Discrete } = require('rl-zmq');\nexports.scale = (a) => (new Discrete(2).contains(a) ? a * 2 : -1);\n",
    });
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'rl-zmq'), 'dir');
    return path.join(dir, 'env.ts');
  }

  it('bundles a TypeScript env with its local import and npm dependency, but not the framework, and the worker builds it', async () => {
    const bundle = await bundleEnvModule(tsEnv());
    const text = bundle.source.toString('utf8');
    assert.equal(bundle.bytes, bundle.source.length);
    assert.equal(bundle.sha256, sha(bundle.source));
    assert.ok(bundle.bytes < 20_000, `the bundle is ${bundle.bytes} bytes: the framework went in`);
    assert.match(text, /require\("rl-zmq"\)/);
    assert.match(text, /function drift/);
    assert.match(text, /\.scale = \(a\) =>/);
    assert.ok(!text.includes(tmp) && !text.includes(root), 'the bundle names an absolute path of this machine');

    const mod = loadShippedModule(bundle.source, path.join(tmp, 'cache', `${bundle.sha256}.js`));
    const env = new (mod.MyEnv as new () => { observationSpace: unknown; reset: (o: object) => { obs: Float32Array }; step: (a: number) => { obs: Float32Array; reward: number } })();
    assert.ok(env.observationSpace instanceof Box, "the shipped env's Box is not the worker's Box");
    const first = env.reset({ seed: 3 }).obs[0];
    const step = env.step(1);
    assert.ok(Math.abs(step.obs[0] - (first + 0.5)) < 1e-6);
    assert.equal(step.obs[1], 2);
    assert.equal(step.reward, 1);

    assert.equal((await bundleEnvModule(path.join(tmp, 'env.ts'))).sha256, bundle.sha256);
    assert.equal((await bundleEnvModule(tsEnv(path.join(tmp, 'elsewhere')))).sha256, bundle.sha256, 'the same files in another folder bundle differently');
  });

  it('leaves the framework out when a module imports it by absolute path, under dist/ or not', async () => {
    const file = path.join(tmp, 'abs.js');
    fs.writeFileSync(
      file,
      `const api = require(${JSON.stringify(path.join(root, 'dist', 'src', 'index.js'))});
const spaces = require(${JSON.stringify(path.join(root, 'dist', 'core', 'spaces.js'))});
exports.MyEnv = class { constructor() { this.observationSpace = new api.Box(0, 1, [1]); this.actionSpace = new spaces.Discrete(2); } };
`,
    );
    const bundle = await bundleEnvModule(file);
    const text = bundle.source.toString('utf8');
    assert.match(text, /require\("rl-zmq"\)/);
    assert.match(text, /require\("rl-zmq\/core\/spaces"\)/);
    assert.ok(!text.includes(root), text);
    const mod = loadShippedModule(bundle.source, 'shipped:abs');
    const env = new (mod.MyEnv as new () => { observationSpace: unknown })();
    assert.ok(env.observationSpace instanceof Box);
    // Loaded by Node itself (as the learner pod of `rl deploy kubernetes` loads its bundle), through the package's exports.
    const dir = path.join(tmp, 'pod');
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'rl-zmq'));
    fs.writeFileSync(path.join(dir, 'env.cjs'), bundle.source);
    const viaNode = require(path.join(dir, 'env.cjs')) as { MyEnv: new () => { observationSpace: unknown; actionSpace: { n: number } } };
    const podEnv = new viaNode.MyEnv();
    assert.ok(podEnv.observationSpace instanceof Box);
    assert.equal(podEnv.actionSpace.n, 2);
  });

  it('refuses a native addon dependency, naming the package', async () => {
    writeTree(tmp, {
      'addon-env.js': "const a = require('fake-addon');\nexports.MyEnv = class { x = a; };\n",
      'gyp-env.js': "const g = require('gyp-only');\nexports.MyEnv = class { x = g; };\n",
      'node_modules/fake-addon/package.json': JSON.stringify({ name: 'fake-addon', main: 'index.js' }),
      'node_modules/fake-addon/binding.gyp': '{}',
      'node_modules/fake-addon/index.js': "module.exports = require('./build/Release/addon.node');\n",
      'node_modules/fake-addon/build/Release/addon.node': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 0, 0xff]),
      'node_modules/gyp-only/package.json': JSON.stringify({ name: 'gyp-only', main: 'index.js', gypfile: true }),
      'node_modules/gyp-only/index.js': "const path = require('path');\nmodule.exports = require(path.join(__dirname, 'build', 'Release', 'gyp.node'));\n",
    });
    await assert.rejects(bundleEnvModule(path.join(tmp, 'addon-env.js')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /addon-env\.js: its dependency "fake-addon" is a native addon \(binding\.gyp\); shipped env code must be plain JavaScript: .*--env-dir/);
      return true;
    });
    await assert.rejects(bundleEnvModule(path.join(tmp, 'gyp-env.js')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /its dependency "gyp-only" is a native addon \(package\.json gypfile: true\)/);
      return true;
    });
  });

  it('refuses a bundle over the size limit, naming its size, the limit and its largest inputs', async () => {
    writeTree(tmp, { 'big.js': `require('./data.js');\nexports.MyEnv = class {};\n`, 'data.js': `exports.table = ${JSON.stringify('x'.repeat(5000))};\n` });
    await assert.rejects(bundleEnvModule(path.join(tmp, 'big.js'), { maxBytes: 1000 }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /big\.js: its bundle is 5\.\d KiB \(5\d{3} bytes\), over the limit of 1000 bytes; the largest inputs: data\.js 5\.0 KiB, big\.js \d+ bytes \(/);
      return true;
    });
  });

  it("turns esbuild's other errors into one line naming the file and line", async () => {
    writeTree(tmp, { 'broken.ts': 'export class MyEnv {\n  step( {\n}\n' });
    await assert.rejects(bundleEnvModule(path.join(tmp, 'broken.ts')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /broken\.ts does not bundle: broken\.ts:\d+:\d+: /);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  it('keeps bundles by sha256, dropping one whose file was tampered with', () => {
    const cache = new CodeCache(path.join(tmp, 'cache'));
    const source = Buffer.from('exports.x = 1;\n');
    const name = sha(source);
    assert.equal(cache.has(name), false);
    const file = cache.write(name, source);
    assert.equal(file, path.join(tmp, 'cache', `${name}.js`));
    assert.equal(fs.statSync(path.join(tmp, 'cache')).mode & 0o777, 0o700);
    assert.deepEqual(cache.read(name), source);
    fs.writeFileSync(file, 'exports.x = 2;\n');
    assert.equal(cache.read(name), undefined);
    assert.equal(fs.existsSync(file), false);
    assert.equal(cache.has(name), false);
  });

  it('refuses a name that is not a lowercase sha256, and a source that does not hash to its name', () => {
    const cache = new CodeCache(path.join(tmp, 'cache'));
    const source = Buffer.from('exports.x = 1;\n');
    for (const bad of ['../../etc/passwd', sha(source).toUpperCase(), 'abc123', `${sha(source)}/../x`]) {
      assert.throws(() => cache.read(bad), ProtocolError, bad);
      assert.throws(() => cache.write(bad, source), /is not a sha256 \(64 lowercase hex digits\)/, bad);
    }
    assert.throws(() => cache.write(sha(Buffer.from('other')), source), (err: Error) => err instanceof ProtocolError && /has sha256 [0-9a-f]{64}; refused/.test(err.message));
    assert.equal(fs.existsSync(path.join(tmp, 'cache')), false);
  });

  it('names a package the shipped code requires but does not carry, and a throw while it loads', () => {
    assert.throws(() => loadShippedModule(Buffer.from('const pad = require("left-pad");\nexports.x = pad;\n'), 'shipped:pad'), (err: Error) => err instanceof EnvError && /shipped env code shipped:pad requires "left-pad", which is not in it/.test(err.message));
    assert.throws(() => loadShippedModule(Buffer.from('throw new Error("boom\\nsecond line");\n'), 'shipped:boom'), (err: Error) => err instanceof EnvError && err.message === 'shipped env code shipped:boom failed to load: boom');
    assert.equal(loadShippedModule(Buffer.from('exports.p = require("node:path").sep;\n'), 'shipped:builtin').p, path.sep);
  });

  it('builds a shipped env through createEnv once its module is registered under its cache file', async () => {
    const bundle = await bundleEnvModule(tsEnv());
    const file = new CodeCache(path.join(tmp, 'cache')).write(bundle.sha256, bundle.source);
    assert.equal(isShippedModule(file), false);
    registerShippedModule(file, loadShippedModule(bundle.source, file));
    assert.equal(isShippedModule(file), true);
    const env = createEnv(moduleEnvId(file, 'MyEnv'));
    assert.ok(env.observationSpace instanceof Box);
    assert.equal(env.reset({ seed: 1 }).obs.length, 2);
    assert.equal(env.step(0).reward, 0);
  });
});
