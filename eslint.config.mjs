// The folder boundaries and the promise rules, checked by `npm run lint` (and so by `npm test`).
// Dependencies run one way: core/ <- envs/ <- algorithms/ <- src/ (which wires them all).
// A crossing between folders is found on the resolved file (import-x/no-restricted-paths), so
// every spelling of it fails (`../src/x`, `./../src/x`, `../envs/../src/x`, `require(...)`);
// the packages a folder may not use are named (no-restricted-imports).
import { readFileSync } from 'node:fs';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const WHY = {
  core: 'core/ is the leaf: the contract, errors, spaces and Rng import nothing of the project, tfjs or the runtime',
  envs: 'envs/ is plain TypeScript: it may import core/ only (no algorithms/, src/, tfjs, sockets or files)',
  algorithms: 'algorithms/ may import core/ and envs/, never the runtime (src/), sockets, processes or files',
  unit: 'a unit test runs in-process (no processes, sockets, browsers or namespaces): list its file under "integration" in test/suites.json',
};

/** An import of one of `packages` (or a subpath of it); a `node:` module also without its prefix. */
function forbid(packages, why) {
  const names = packages.flatMap((name) => (name.startsWith('node:') ? [name, name.slice('node:'.length)] : [name]));
  return ['error', { paths: names.map((name) => ({ name, message: why })), patterns: names.map((name) => ({ group: [`${name}/*`], message: why })) }];
}

/** Files in folder `target` may not import files in any of `from`. */
const zone = (target, from) => ({ target: `./${target}`, from: from.map((f) => `./${f}`), message: WHY[target] });

const runtimeOnly = ['zeromq', 'node:child_process', 'node:net', 'node:fs', 'node:worker_threads'];

// The test files test/suites.json lists as integration tests; every other test/*.test.ts is a unit test.
const { integration } = JSON.parse(readFileSync(new URL('./test/suites.json', import.meta.url), 'utf8'));
const integrationFiles = [...Object.keys(integration.serial), ...Object.keys(integration.parallel)].map((name) => `test/${name}.test.ts`);
const outOfProcess = ['zeromq', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:dgram', 'node:worker_threads', 'playwright-core'];
const outOfProcessHelpers = ['cli', 'free-port', 'hostile-learner', 'netns', 'pod-sandbox'].map((name) => `**/helpers/${name}`);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'sweeps/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mts', '.js', '.mjs', '.json'] })] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [zone('core', ['envs', 'algorithms', 'src']), zone('envs', ['algorithms', 'src']), zone('algorithms', ['src'])],
        },
      ],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['@tensorflow', ...runtimeOnly], WHY.core) },
  },
  {
    files: ['envs/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['@tensorflow', ...runtimeOnly], WHY.envs) },
  },
  {
    files: ['algorithms/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(runtimeOnly, WHY.algorithms) },
  },
  {
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['test/*.test.ts'],
    ignores: integrationFiles,
    rules: {
      'no-restricted-imports': ['error', { ...forbid(outOfProcess, WHY.unit)[1], patterns: [...forbid(outOfProcess, WHY.unit)[1].patterns, { group: outOfProcessHelpers, message: WHY.unit }] }],
    },
  },
);
