import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(__dirname, '..', '..');

/**
 * The folder rules of eslint.config.mjs, run through ESLint's Node API on probe files of each
 * folder. The probes are linted as text under a path in the folder (`lintText`'s `filePath`),
 * not written there, so that no build running beside the test compiles them.
 */
const eslint = new ESLint({ cwd: root });

async function lint(folder: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, folder, 'lint-probe.ts') });
  return result.messages.map(({ ruleId, message }) => ({ ruleId, message }));
}

const WHY = {
  core: 'core/ is the leaf: the contract, errors, spaces and Rng import nothing of the project, tfjs or the runtime',
  envs: 'envs/ is plain TypeScript: it may import core/ only (no algorithms/, src/, tfjs, sockets or files)',
  algorithms: 'algorithms/ may import core/ and envs/, never the runtime (src/), sockets, processes or files',
};

/** Each import below crosses a boundary, each spelled another way; every one must be reported. */
const CROSSINGS: Record<keyof typeof WHY, string[]> = {
  envs: [
    `import { loadConfig } from '../src/config/load';`,
    `import { loadConfig } from './../src/config/load';`,
    `import { loadConfig } from '../envs/../src/config/load';`,
    `import { loadConfig } from '.././src/config/load';`,
    `import type { RunConfig } from '../src/config/schema';`,
    `export { PACKAGE_VERSION } from '../src/version';`,
    `const load = require('../src/config/load');`,
    `import { algorithms } from '../algorithms';`,
    `import { algorithms } from '../core/../algorithms/index';`,
  ],
  core: [`import { listEnvs } from '../envs/registry';`, `import { algorithms } from './../algorithms';`, `import { PACKAGE_VERSION } from '../core/../src/version';`],
  algorithms: [`import { PACKAGE_VERSION } from '../src/version';`, `import { PACKAGE_VERSION } from './../src/version';`, `import { PACKAGE_VERSION } from '../algorithms/../src/version';`],
};

describe('Lint: folder boundaries', () => {
  for (const [folder, imports] of Object.entries(CROSSINGS) as [keyof typeof WHY, string[]][]) {
    it(`reports every spelling of an import that leaves ${folder}/ for a folder it may not use, with the rule's reason`, async () => {
      for (const line of imports) {
        const messages = await lint(folder, `${line}\nexport const x = 1;\n`);
        assert.equal(messages.length, 1, `${folder}: ${line}: ${JSON.stringify(messages)}`);
        assert.equal(messages[0].ruleId, 'import-x/no-restricted-paths', line);
        assert.ok(messages[0].message.endsWith(WHY[folder]), `${line}: ${messages[0].message}`);
      }
    });
  }

  it('reports a runtime module spelled with or without node:, and tfjs, where the folder may not use them', async () => {
    for (const [folder, line] of [['envs', `import * as fs from 'fs';`], ['envs', `import { readFile } from 'fs/promises';`], ['envs', `import * as fs from 'node:fs';`], ['core', `import * as cp from 'child_process';`], ['algorithms', `import * as net from 'net';`], ['envs', `import * as tf from '@tensorflow/tfjs';`], ['envs', `import * as tf from '@tensorflow/tfjs-core';`], ['core', `import '@tensorflow/tfjs-backend-wasm';`]] as const) {
      const messages = await lint(folder, `${line}\nexport const x = 1;\n`);
      assert.deepEqual(messages.map((m) => m.ruleId), ['no-restricted-imports'], `${folder}: ${line}`);
      assert.ok(messages[0].message.endsWith(WHY[folder]), `${line}: ${messages[0].message}`);
    }
  });

  it('reports nothing for the imports each folder may make', async () => {
    const legal: [string, string][] = [
      ['core', `import { ConfigError } from './errors';`],
      ['envs', `import { ConfigError } from '../core/errors';`],
      ['envs', `import { Rng } from './../core/rng';`],
      ['algorithms', `import { listEnvs } from '../envs/registry';`],
      ['algorithms', `import { ConfigError } from '../core/errors';`],
      ['algorithms', `import { Rng } from '../envs/../core/rng';`],
    ];
    for (const [folder, line] of legal) assert.deepEqual(await lint(folder, `${line}\nexport const x = 1;\n`), [], `${folder}: ${line}`);
  });
});
