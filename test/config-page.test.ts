import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithms, shippedAlgorithms } from '../algorithms';
import { configPage, configSections, undescribedKeys, type ConfigSection } from '../src/docs/config-page';
import './helpers/toy-register';

const root = path.resolve(__dirname, '..', '..');

describe('docs/configs.md, the config reference', () => {
  it('is exactly what `npm run docs:configs` writes from the schemas now (rerun it after changing a key or its .describe())', () => {
    const committed = fs.readFileSync(path.join(root, 'docs', 'configs.md'), 'utf8');
    assert.ok(committed === configPage(), 'docs/configs.md is stale: run `npm run docs:configs` and commit it');
  });

  it("gives every key of the run's sections and of every shipped algorithm's section a description", () => {
    assert.deepEqual(undescribedKeys(), []);
  });

  it('names, by its full path, a key or a section that has no description', () => {
    const sections: ConfigSection[] = [
      { title: 'Top level', description: 'the keys', required: true, rows: [{ key: 'seed', type: 'integer', default: '`0`', rule: '>= 0', description: undefined }] },
      { title: 'model', description: undefined, required: false, rows: [{ key: 'conv[].kernel', type: 'integer', default: '**required**', rule: '> 0', description: '' }] },
    ];
    assert.deepEqual(undescribedKeys(sections), ['model', 'seed', 'model.conv[].kernel']);
  });

  it("writes a key's type, default, bounds (each item's too) and description from its schema, and a nested list of sections by path", () => {
    const model = configSections().find((s) => s.title === 'model')!;
    const hidden = model.rows.find((r) => r.key === 'hiddenSizes');
    assert.deepEqual(hidden, { key: 'hiddenSizes', type: 'integer list', default: '`[64, 64]`', rule: '1 to 16 items, each > 0, <= 4096', description: 'units per hidden layer' });
    assert.deepEqual(
      model.rows.filter((r) => r.key.startsWith('conv[].')).map((r) => `${r.key} ${r.default}`),
      ['conv[].filters **required**', 'conv[].kernel **required**', 'conv[].stride `1`', 'conv[].padding `valid`'],
    );
    assert.ok(configPage().includes('| `hiddenSizes` | integer list | `[64, 64]` | 1 to 16 items, each > 0, &lt;= 4096 | units per hidden layer |'));
  });

  it("documents the run's sections once, then a section per algorithm the registry ships, not one registered at run time", () => {
    assert.ok(Object.keys(algorithms).includes('toy'), 'the toy algorithm is registered in this process');
    assert.deepEqual([...shippedAlgorithms], ['ppo', 'dqn', 'sac', 'impala', 'appo']);
    const sections = configSections();
    assert.deepEqual(
      sections.map((s) => s.title),
      ['Top level', 'env', 'model', 'workers', 'stop', 'checkpoint', 'evaluation', 'multiAgent', 'ppo', 'dqn', 'sac', 'impala', 'appo'],
    );
    assert.equal(sections[0].rows.find((r) => r.key === 'algorithm')?.rule, 'one of ppo, dqn, sac, impala, appo');
  });
});
