/**
 * The test suite in two speeds (`npm run test:unit`, `npm test`): runs the groups of
 * test/suites.json one after the other, each in its own mocha, and ends with the time of each
 * group, every file's time (slowest first) and one `N passing` / `N failing` line for all groups
 * (what .ci/run reads).
 *
 *   node dist/test/helpers/run-suites.js unit   the in-process tests, under the in-process guard
 *   node dist/test/helpers/run-suites.js        all: unit, then the parallel and the serial integration tests
 *
 * RL_TEST_JOBS sets the mocha --jobs of the parallel group (2).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root } from './cli';
import { readSuites } from './suites';
import { timingTable, type FileTimes, type GroupResult } from './timing-table';

const mocha = path.join(path.dirname(require.resolve('mocha/package.json')), 'bin', 'mocha.js');
const reporter = path.join(__dirname, 'timing-reporter.js');
const jobs = Number(process.env.RL_TEST_JOBS ?? 2);

const suites = readSuites();
const groups: { name: string; files: string[]; args: string[] }[] = [
  { name: 'unit (in-process)', files: suites.unit, args: ['--require', path.join(__dirname, 'in-process.js')] },
];
if (process.argv[2] !== 'unit') {
  groups.push({ name: `integration, parallel (--jobs ${jobs})`, files: suites.parallel, args: ['--parallel', '--jobs', String(jobs)] });
  groups.push({ name: 'integration, serial', files: suites.serial, args: [] });
}

const results: { name: string; seconds: number; result: GroupResult; status: number | null }[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-suites-'));
for (const [i, group] of groups.entries()) {
  if (group.files.length === 0) continue;
  console.log(`\n=== ${group.name}: ${group.files.length} test files`);
  const file = path.join(dir, `${i}.json`);
  const start = Date.now();
  const run = spawnSync(process.execPath, [mocha, '--reporter', reporter, ...group.args, ...group.files], { cwd: root, stdio: 'inherit', env: { ...process.env, RL_TEST_TIMES: file } });
  const seconds = (Date.now() - start) / 1000;
  // A mocha that died before its end (a crash, a load error) leaves no result: count it as one failure.
  const result: GroupResult = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { times: {}, passes: 0, failures: 1, pending: 0 };
  if (run.status !== 0 && result.failures === 0) result.failures = 1;
  results.push({ name: group.name, seconds, result, status: run.status });
}
fs.rmSync(dir, { recursive: true, force: true });

const all: FileTimes = Object.assign({}, ...results.map((r) => r.result.times));
const sum = (key: 'passes' | 'failures' | 'pending') => results.reduce((n, r) => n + r.result[key], 0);
const seconds = results.reduce((s, r) => s + r.seconds, 0);
console.log(`\n=== the suite: wall time per group`);
for (const r of results) console.log(`  ${r.name.padEnd(40)} ${r.seconds.toFixed(1).padStart(7)} s  ${r.result.passes} passing, ${r.result.failures} failing`);
console.log(`\n${timingTable(all, 'time per test file, all groups (tests and hooks):')}\n`);
console.log(`  ${sum('passes')} passing (${seconds.toFixed(0)}s)`);
console.log(`  ${sum('pending')} pending`);
console.log(`  ${sum('failures')} failing`);
process.exitCode = results.every((r) => r.status === 0) ? 0 : 1;
