import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { parseModuleRef } from '../env-loader';

/** The page's TypeScript sources: beside this file under tsx, in the source tree under dist/. */
export function pageDir(): string {
  const candidates = [path.join(__dirname, 'page'), path.resolve(__dirname, '..', '..', '..', 'src', 'view', 'page')];
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'app.ts')));
  if (!dir) throw new Error(`rl view: the page's sources (src/view/page/app.ts) are not at ${candidates.join(' or ')}`);
  return dir;
}

export interface PageBundle {
  js: string;
  /** Why a custom env could not go into the page (it uses Node APIs, say); the page says it. */
  envProblem?: string;
}

/**
 * The page's script for the browser, bundled by esbuild from the TypeScript sources: the
 * page, the built-in env registry, and for a module env (`/abs/my-env.ts:MyEnv`) that module
 * too, when it bundles for the browser (no Node APIs). When it does not, the page is bundled
 * without it, and `envProblem` says why.
 */
export async function bundlePage(envId: string): Promise<PageBundle> {
  const ref = parseModuleRef(envId);
  const entry = (custom?: { file: string; name: string }) =>
    custom
      ? `import { start } from './app';\nimport * as mod from ${JSON.stringify(custom.file)};\nstart({ module: mod, exportName: ${JSON.stringify(custom.name)} });\n`
      : `import { start } from './app';\nstart({});\n`;
  if (!ref) return { js: await bundleEntry(entry()) };
  try {
    return { js: await bundleEntry(entry(ref)) };
  } catch (err) {
    const first = (err as { errors?: { text: string }[] }).errors?.[0]?.text ?? (err as Error).message;
    return { js: await bundleEntry(entry()), envProblem: `the env module ${ref.file} does not bundle for the browser: ${first}` };
  }
}

/** The sweep page's script (`rl view SWEEP_DIR`), bundled by esbuild from page/sweep.ts. */
export function bundleSweepPage(): Promise<string> {
  return bundleEntry("import { startSweep } from './sweep';\nstartSweep();\n");
}

/** An entry module's bundle for the browser, resolved in the page's folder. */
async function bundleEntry(contents: string): Promise<string> {
  const dir = pageDir();
  const out = await build({
    stdin: { contents, resolveDir: dir, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    // An env module written against the package (`import { Box } from 'rl-zmq'`) gets the
    // envs' plain-TypeScript half of it, which is all an env may use.
    alias: { 'rl-zmq': path.resolve(dir, '..', '..', '..', 'envs', 'index.ts') },
  });
  return out.outputFiles[0].text;
}
