import * as fs from 'node:fs';
import * as path from 'node:path';

/** package.json's version, found from src/ (run by tsx, as `npm run docs:configs` does) or from dist/src/ (the build). */
function readVersion(): string {
  for (const up of ['..', '../..']) {
    const file = path.join(__dirname, up, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  throw new Error(`package.json not found above ${__dirname}`);
}

/** This package's version (package.json), written into checkpoints and compared with workers'. */
export const PACKAGE_VERSION: string = readVersion();
