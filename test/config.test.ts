import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { ConfigError } from '../core/errors';

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
      `${file}:11: ppo.minibachSize is not a known key; did you mean "minibatchSize"? (expected one of: lr, lrSchedule, gamma, gaeLambda, clipRange, clipRangeVf, entCoef, vfCoef, maxGradNorm, numEpochs, minibatchSize, trainBatchSize, normalizeAdvantages, initLogStd, maxPolicyLag, gradientPath)`,
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
    assert.equal(errorOf(algo), `${algo}:1: algorithm ("ppp") must be one of ppo, dqn; did you mean "ppo"?`);
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
