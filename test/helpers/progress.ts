import * as fs from 'node:fs';
import * as path from 'node:path';

/** The iteration records of a finished run's progress.jsonl; throws if the file is missing or a line is not JSON. */
export function progress(runDir: string): Record<string, number>[] {
  return fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/**
 * The records of a running run's progress.jsonl so far: none before the file exists, and without a line
 * that does not parse (one being written, or torn by a kill).
 */
export function progressSoFar(runDir: string): Record<string, number>[] {
  const file = path.join(runDir, 'progress.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}
