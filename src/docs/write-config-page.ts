import * as fs from 'node:fs';
import * as path from 'node:path';
import { configPage, undescribedKeys } from './config-page';

/** `npm run docs:configs` (from the repository root): writes docs/configs.md, after checking that every key has a description. */
const missing = undescribedKeys();
if (missing.length > 0) {
  console.error(`docs/configs.md: these keys have no .describe() text: ${missing.join(', ')}`);
  process.exit(1);
}
const file = path.resolve(process.argv[2] ?? 'docs/configs.md');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, configPage());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
