import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The file a URL path names inside `root`, or undefined when it names none there: a request
 * that climbs out (`..`, percent-encoded or not, a backslash), holds a NUL or a malformed
 * escape, or reaches outside through a symlink gets undefined, as does a folder. The check
 * is on the real path, so a symlink inside the run dir that points out of it is refused too.
 */
export function fileInside(root: string, urlPath: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel.includes('\0') || rel.includes('\\')) return undefined;
  const segments = rel.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return undefined;
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.join(realRoot, ...segments));
  } catch {
    return undefined;
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return undefined;
  try {
    return fs.statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}
