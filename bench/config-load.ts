import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { median } from './bench-json';

/**
 * `node dist/bench/run.js config-load`: how long loadConfig takes on generated configs that
 * grow, in keys of one mapping (env.config, up to its bound of 10,000) and in comment bytes (up
 * to the 1 MiB file limit). Linear loading shows as time per key and per byte staying level;
 * yaml's own duplicate-key check (one comparison with every earlier key) made it grow with the count.
 */
export function configLoad(): void {
  console.log('\n== config load (median of 3) ==');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-bench-config-'));
  const head = 'algorithm: ppo\nenv:\n  id: CartPole-v1\n  config:\n';
  const tail = 'stop:\n  envSteps: 1000\n';
  const time = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    loadConfig(file); // warm
    return median([0, 1, 2].map(() => {
      const start = performance.now();
      loadConfig(file);
      return performance.now() - start;
    }));
  };
  for (const keys of [1250, 2500, 5000, 9990]) {
    const ms = time(`keys-${keys}.yaml`, head + Array.from({ length: keys }, (_, i) => `    key${i}: ${i}\n`).join('') + tail);
    console.log(`${String(keys).padStart(5)} keys in env.config: ${ms.toFixed(0).padStart(5)} ms (${((ms / keys) * 1000).toFixed(1)} us per key)`);
  }
  for (const kib of [128, 256, 512, 1023]) {
    const body = head.replace('  config:\n', '') + tail;
    const ms = time(`comments-${kib}.yaml`, body + '# a comment\n'.repeat(Math.floor((kib * 1024 - body.length) / 12)));
    console.log(`${String(kib).padStart(5)} KiB of comments:    ${ms.toFixed(0).padStart(5)} ms (${(ms / kib).toFixed(2)} ms per KiB)`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
