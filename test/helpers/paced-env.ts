import * as fs from 'node:fs';
import * as path from 'node:path';
import { root } from './cli';

/**
 * Writes `<dir>/<file>`: a module env, class `exportName`, that wraps the registered `envId`
 * and sleeps the milliseconds in the environment variable `envVar` (read when a process loads
 * it; unset or 0: no sleep) at every step, printing `line` after each sleep if given. A worker
 * started with the variable set samples at the pace it sets. Returns the file's path.
 */
export function pacedEnvModule(dir: string, opts: { file: string; exportName: string; envId: string; envVar: string; line?: string }): string {
  const file = path.join(dir, opts.file);
  const print = opts.line === undefined ? '' : `\n      process.stdout.write(${JSON.stringify(`${opts.line}\n`)});`;
  fs.writeFileSync(
    file,
    `const { makeEnv } = require(${JSON.stringify(path.join(root, 'dist', 'src', 'index.js'))});
const pauseMs = Number(process.env.${opts.envVar} ?? 0);
const pause = new Int32Array(new SharedArrayBuffer(4));
export class ${opts.exportName} {
  inner = makeEnv(${JSON.stringify(opts.envId)});
  observationSpace = this.inner.observationSpace;
  actionSpace = this.inner.actionSpace;
  reset(opts?: { seed?: number }) { return this.inner.reset(opts); }
  step(action: number) {
    if (pauseMs > 0) {
      Atomics.wait(pause, 0, 0, pauseMs);${print}
    }
    return this.inner.step(action);
  }
  close() { this.inner.close(); }
}
`,
  );
  return file;
}
