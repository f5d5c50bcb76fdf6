import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { build } from 'esbuild';
import { EnvError } from '../../core/errors';

/**
 * TEMPORARY stand-in (issue 14's branch) for the bundler issue 12 writes here, with the same
 * signature: a module env and everything it imports as one CommonJS file, `rl-zmq` left as an
 * import (the process that loads the bundle provides it). The integrator keeps issue 12's version.
 */
export async function bundleEnvModule(file: string, opts: { maxBytes?: number } = {}): Promise<{ sha256: string; source: Buffer; file: string; bytes: number }> {
  const abs = path.resolve(file);
  let text: string;
  try {
    const out = await build({ entryPoints: [abs], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['rl-zmq'], write: false, logLevel: 'silent' });
    text = out.outputFiles[0].text;
  } catch (err) {
    throw new EnvError(`env module ${abs} does not bundle: ${String((err as Error).message).split('\n')[0]}`);
  }
  const source = Buffer.from(text);
  if (opts.maxBytes !== undefined && source.length > opts.maxBytes) {
    throw new EnvError(`env module ${abs}: its bundle is ${source.length} bytes, over the limit of ${opts.maxBytes}`);
  }
  return { sha256: crypto.createHash('sha256').update(source).digest('hex'), source, file: abs, bytes: source.length };
}
