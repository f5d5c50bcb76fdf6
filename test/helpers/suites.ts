import * as fs from 'node:fs';
import * as path from 'node:path';
import { root } from './cli';

/** test/suites.json: the integration test files (by name, without .test.ts) and why each is one. */
interface SuitesFile {
  integration: { serial: Record<string, string>; parallel: Record<string, string> };
}

/** The test files of each group, as paths of their built .js files from the repository root. */
export interface Suites {
  /** In-process: every test file not listed in test/suites.json. */
  unit: string[];
  /** Integration tests that may run beside each other (mocha --parallel). */
  parallel: string[];
  /** Integration tests that run alone: ip netns namespaces, fixed ports or names. */
  serial: string[];
}

/** The test file names (without .test.ts) in test/, and test/suites.json's groups of them; a listed name without its file throws. */
export function readSuites(): Suites & { names: string[]; listed: SuitesFile['integration'] } {
  const listed = (JSON.parse(fs.readFileSync(path.join(root, 'test', 'suites.json'), 'utf8')) as SuitesFile).integration;
  const names = fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts')).map((f) => f.slice(0, -'.test.ts'.length)).sort();
  const integration = [...Object.keys(listed.serial), ...Object.keys(listed.parallel)];
  for (const name of integration) if (!names.includes(name)) throw new Error(`test/suites.json: "${name}" names no test/${name}.test.ts`);
  const built = (name: string) => path.join('dist', 'test', `${name}.test.js`);
  return {
    names,
    listed,
    unit: names.filter((n) => !integration.includes(n)).map(built),
    parallel: Object.keys(listed.parallel).map(built),
    serial: Object.keys(listed.serial).map(built),
  };
}
