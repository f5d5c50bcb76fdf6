// The folder boundaries and the promise rules, checked by `npm run lint` (and so by `npm test`).
// Dependencies run one way: core/ <- envs/ <- algorithms/ <- src/ (which wires them all).
import tseslint from 'typescript-eslint';

/** An import of one of `folders` (a relative path climbing into it) or of one of `packages`. */
function forbid(folders, packages, why) {
  return [
    'error',
    {
      paths: packages.map((name) => ({ name, message: why })),
      patterns: [
        ...(folders.length ? [{ regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message: why }] : []),
        ...packages.map((name) => ({ group: [`${name}/*`], message: why })),
      ],
    },
  ];
}

const runtimeOnly = ['zeromq', 'node:child_process', 'node:net', 'node:fs', 'node:worker_threads'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['core/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['envs', 'algorithms', 'src'], ['@tensorflow/tfjs', ...runtimeOnly], 'core/ is the leaf: the contract, errors, spaces and Rng import nothing of the project, tfjs or the runtime') },
  },
  {
    files: ['envs/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['algorithms', 'src'], ['@tensorflow/tfjs', ...runtimeOnly], 'envs/ is plain TypeScript: it may import core/ only (no algorithms/, src/, tfjs, sockets or files)') },
  },
  {
    files: ['algorithms/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['src'], runtimeOnly, 'algorithms/ may import core/ and envs/, never the runtime (src/), sockets, processes or files') },
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
);
