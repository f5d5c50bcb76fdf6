import { algorithms } from '../algorithms';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { ConfigError } from '../core/errors';
import { MAX_ALIASES, MAX_CONFIG_BYTES, MAX_ENV_CONFIG_DEPTH, MAX_ENV_CONFIG_ENTRIES } from '../src/config/limits';
import { decodeLearnerMessage, encode } from '../src/transport/protocol';
import { everyLearnerMessage } from './helpers/protocol-fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-config-'));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const base = `algorithm: ppo
env:
  id: CartPole-v1
workers:
  envsPerWorker: 4
  rolloutLength: 64
stop:
  envSteps: 1000
`;

function errorOf(file: string, overrides: string[] = []): string {
  try {
    loadConfig(file, overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('no error');
}

describe('Config', () => {
  it('fills every default and names the run after the file', () => {
    const cfg = loadConfig(write('minimal.yaml', base));
    assert.equal(cfg.name, 'minimal');
    assert.equal(cfg.seed, 0);
    assert.equal(cfg.backend, 'auto');
    assert.deepEqual(cfg.model, { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false, conv: [] });
    assert.equal(cfg.workers.numWorkers, 0);
    assert.equal((cfg.ppo as { gamma: number }).gamma, 0.99);
    assert.deepEqual(cfg.env.config, {});
  });

  it('names an unknown key with its line and suggests the closest known one', () => {
    const file = write('typo.yaml', `${base}ppo:\n  lr: 0.001\n  minibachSize: 64\n`);
    assert.equal(
      errorOf(file),
      `${file}:11: ppo.minibachSize is not a known key; did you mean "minibatchSize"? (expected one of: lr, lrSchedule, gamma, gaeLambda, clipRange, clipRangeVf, entCoef, vfCoef, maxGradNorm, numEpochs, minibatchSize, trainBatchSize, normalizeAdvantages, initLogStd, maxPolicyLag, sequenceLength, gradientPath)`,
    );
  });

  it('rejects an unknown top-level section', () => {
    const file = write('section.yaml', `${base}worker:\n  numWorkers: 2\n`);
    assert.match(errorOf(file), /:9: worker is not a known key; did you mean "workers"\?/);
  });

  it('names the key, the value and the rule for a wrong type', () => {
    const file = write('type.yaml', `${base}ppo:\n  lr: fast\n`);
    assert.equal(errorOf(file), `${file}:10: ppo.lr ("fast") must be a number`);
  });

  it('names the key, the value and the rule for an out-of-range value', () => {
    const file = write('range.yaml', `${base}ppo:\n  gamma: 1.5\n`);
    assert.equal(errorOf(file), `${file}:10: ppo.gamma (1.5) must be <= 1`);
    const ints = write('int.yaml', `${base}ppo:\n  numEpochs: 2.5\n`);
    assert.equal(errorOf(ints), `${ints}:10: ppo.numEpochs (2.5) must be an integer`);
  });

  it('checks rules that span keys', () => {
    const file = write('span.yaml', `${base}ppo:\n  minibatchSize: 512\n`);
    assert.equal(errorOf(file), `${file}:10: ppo.minibatchSize (512) must be <= trainBatchSize (256)`);
  });

  it('requires a stop condition and a known algorithm', () => {
    const noStop = write('nostop.yaml', 'algorithm: ppo\nenv:\n  id: CartPole-v1\nstop: {}\n');
    assert.match(errorOf(noStop), /stop must set at least one of episodeReturnMean, evalReturnMean, envSteps, iterations, wallSeconds/);
    const algo = write('algo.yaml', base.replace('ppo', 'ppp'));
    // Every registered algorithm is listed (other test files register a test-only one in this process).
    assert.equal(errorOf(algo), `${algo}:1: algorithm ("ppp") must be one of ${Object.keys(algorithms).join(', ')}; did you mean "ppo"?`);
  });

  it('applies --set overrides as typed YAML values and validates them too', () => {
    const file = write('set.yaml', base);
    const cfg = loadConfig(file, ['ppo.lr=1e-3', 'model.hiddenSizes=[32, 32]', 'seed=7']);
    assert.equal((cfg.ppo as { lr: number }).lr, 0.001);
    assert.deepEqual(cfg.model.hiddenSizes, [32, 32]);
    assert.equal(cfg.seed, 7);
    assert.equal(errorOf(file, ['ppo.clipRange=-1']), '--set ppo.clipRange=-1: ppo.clipRange (-1) must be > 0');
    assert.equal(errorOf(file, ['nonsense']), '--set nonsense: expected key.path=value');
  });

  it('says so when the file is missing or not YAML', () => {
    assert.match(errorOf(path.join(dir, 'absent.yaml')), /absent\.yaml: cannot read the config \(ENOENT\)/);
    const bad = write('bad.yaml', 'algorithm: [ppo\n');
    assert.match(errorOf(bad), /bad\.yaml:\d+: not valid YAML/);
  });
});

/** `base` with an env.config of `lines` (each indented under `config:`). */
const withEnvConfig = (lines: string) => `algorithm: ppo\nenv:\n  id: CartPole-v1\n  config:\n${lines}stop:\n  envSteps: 1000\n`;
/** `n` keys `k0: 0`, `k1: 0`, ... at the indent of env.config's keys. */
const keys = (n: number) => Array.from({ length: n }, (_, i) => `    k${i}: 0\n`).join('');
/** A mapping nested `levels` deep below env.config: `{ a: { a: ... { a: 1 } } }`. */
const nested = (levels: number) => `    n: ${'{ a: '.repeat(levels)}1${' }'.repeat(levels)}\n`;

describe('Config bounds', () => {
  it('refuses a config file over 1 MiB with one line naming the file, its size and the limit, and loads one of exactly 1 MiB', () => {
    const fill = (bytes: number) => base + '#'.repeat(bytes - base.length - 1) + '\n';
    const over = write('over.yaml', fill(MAX_CONFIG_BYTES + 1));
    assert.equal(errorOf(over), `${over}: the config is ${MAX_CONFIG_BYTES + 1} bytes, more than the limit of ${MAX_CONFIG_BYTES} bytes (1 MiB)`);
    const at = write('at-limit.yaml', fill(MAX_CONFIG_BYTES));
    assert.equal(fs.statSync(at).size, MAX_CONFIG_BYTES);
    assert.equal(loadConfig(at).env.id, 'CartPole-v1');
  });

  it('turns a YAML alias bomb into one file:line error', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    const file = write('bomb.yaml', `${base}${levels.join('\n')}\n`);
    const message = errorOf(file); // line 11: c's first *b, the first alias of an anchor that holds aliases
    assert.equal(message, `${file}:11: not valid YAML: Excessive alias count indicates a resource exhaustion attack (aliases may copy an anchor's contents at most 100 times)`);
  });

  it(`refuses more than ${MAX_ALIASES} aliases, naming the line of the first one past it, and loads a config with ${MAX_ALIASES}`, () => {
    const aliases = (n: number) => withEnvConfig(`    x: &x 1\n${Array.from({ length: n }, (_, i) => `    y${i}: *x\n`).join('')}`);
    const file = write('aliases.yaml', aliases(MAX_ALIASES + 1));
    assert.equal(errorOf(file), `${file}:${5 + MAX_ALIASES + 1}: a config may hold at most ${MAX_ALIASES} aliases (*name)`);
    // yaml counts one anchor copied 1000 times against maxAliasCount (100) too: give each alias its own anchor.
    const own = (n: number) => withEnvConfig(Array.from({ length: n }, (_, i) => `    x${i}: &x${i} ${i}\n    y${i}: *x${i}\n`).join(''));
    assert.equal(loadConfig(write('aliases-ok.yaml', own(MAX_ALIASES))).env.config[`y${MAX_ALIASES - 1}`], MAX_ALIASES - 1);
  });

  it('still names a repeated key with its line, in block and flow mappings', () => {
    const block = write('dup-block.yaml', `${base}ppo:\n  lr: 0.1\n  gamma: 0.9\n  lr: 0.2\n`);
    assert.equal(errorOf(block), `${block}:12: not valid YAML: Map keys must be unique`);
    const flow = write('dup-flow.yaml', `${base}ppo: { lr: 0.1, lr: 0.2 }\n`);
    assert.equal(errorOf(flow), `${flow}:9: not valid YAML: Map keys must be unique`);
  });

  it(`refuses an env.config of more than ${MAX_ENV_CONFIG_ENTRIES} entries (70,000 keys crashed msgpackr when a worker joined)`, () => {
    const huge = write('env-huge.yaml', withEnvConfig(keys(70_000)));
    assert.equal(errorOf(huge), `${huge}:4: env.config has more than ${MAX_ENV_CONFIG_ENTRIES} entries (keys and list items, every level together), the most a worker's welcome may carry`);
    const over = write('env-over.yaml', withEnvConfig(keys(MAX_ENV_CONFIG_ENTRIES + 1)));
    assert.match(errorOf(over), /env-over\.yaml:4: env\.config has more than 10000 entries/);
    const list = write('env-list.yaml', withEnvConfig(`    xs: [${Array(MAX_ENV_CONFIG_ENTRIES).fill(0).join(',')}]\n`));
    assert.match(errorOf(list), /env-list\.yaml:4: env\.config has more than 10000 entries/);
  });

  it(`refuses an env.config nested more than ${MAX_ENV_CONFIG_DEPTH} levels deep`, () => {
    const deep = write('env-deep.yaml', withEnvConfig(nested(MAX_ENV_CONFIG_DEPTH + 1)));
    assert.equal(errorOf(deep), `${deep}:4: env.config nests lists and mappings more than ${MAX_ENV_CONFIG_DEPTH} levels deep (at env.config.n${'.a'.repeat(MAX_ENV_CONFIG_DEPTH)}), the most a worker's welcome may carry`);
  });

  it('an env.config at every bound loads, and a welcome carrying it encodes and decodes', () => {
    const file = write('env-full.yaml', withEnvConfig(keys(MAX_ENV_CONFIG_ENTRIES - MAX_ENV_CONFIG_DEPTH - 1) + nested(MAX_ENV_CONFIG_DEPTH)));
    const envConfig = loadConfig(file).env.config;
    assert.equal(Object.keys(envConfig).length, MAX_ENV_CONFIG_ENTRIES - MAX_ENV_CONFIG_DEPTH); // and n's 8 nested keys
    const fixture = everyLearnerMessage().find((m) => m.type === 'welcome')!;
    assert.ok(fixture.type === 'welcome');
    const back = decodeLearnerMessage(encode({ ...fixture, setup: { ...fixture.setup, envConfig } }));
    assert.ok(back.type === 'welcome');
    assert.deepEqual(back.setup.envConfig, envConfig);
  });
});
