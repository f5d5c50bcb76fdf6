import * as fs from 'node:fs';
import * as path from 'node:path';

/** `runs/<name>-<YYYYMMDD-HHMMSS>`, with a suffix if that exists already. */
export function newRunDir(name: string, root = 'runs', now = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  let dir = path.join(root, `${name}-${stamp}`);
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(root, `${name}-${stamp}-${i}`);
  return dir;
}

/** Appends one JSON object per line; each line is written whole, so a reader never sees half a record. */
export class JsonlWriter {
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  write(record: Record<string, unknown>): void {
    fs.writeSync(this.fd, `${JSON.stringify(record)}\n`); // NaN and Infinity become null
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Drops the records after `iteration` (a run resumed from an earlier checkpoint goes on from there). */
export function truncateProgress(file: string, iteration: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false;
      try {
        return JSON.parse(line).iteration <= iteration;
      } catch {
        return false; // a line cut short by a crash
      }
    });
  fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}
