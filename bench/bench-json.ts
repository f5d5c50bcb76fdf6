import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** The middle value (the upper one of an even count); the benches quote medians, the machines being noisy. */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Writes a bench's figures to `runs/bench/<name>.json` (git-ignored), with when they were taken; says where. */
export function writeBenchJson(name: string, figures: Record<string, unknown>): void {
  const file = path.join(root, 'runs', 'bench', `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ bench: name, at: new Date().toISOString(), node: process.version, ...figures }, null, 2)}\n`);
  console.log(`(figures in ${path.relative(root, file)})`);
}
