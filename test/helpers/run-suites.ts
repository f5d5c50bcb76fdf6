/**
 * The test suite in two speeds (`npm run test:unit`, `npm test`): runs the groups of
 * test/suites.json one after the other, each in its own mocha, and ends with the time of each
 * group, every file's time (slowest first) and one `N passing` / `N failing` line for all groups
 * (what .ci/run reads).
 *
 *   node dist/test/helpers/run-suites.js unit   the in-process tests, under the in-process guard
 *   node dist/test/helpers/run-suites.js        all: unit, then the parallel and the serial integration tests
 *
 * The parallel group runs RL_TEST_JOBS (2) files at a time, each in a mocha of its own (not mocha
 * --parallel, whose workers run file after file in one process: there conformance.test.js once
 * found an algorithm registry without its `toy`, state left by an earlier file, likely a module
 * env loaded through tsx's namespaced require). A file's output is printed whole when it ends.
 */
import { spawn, spawnSync } from 'node:child_process';
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-suites-'));
let runs = 0;

/** What a mocha run left in its RL_TEST_TIMES file; one that died before its end (a crash, a load error) counts as a failure. */
function resultOf(file: string, status: number | null): GroupResult {
  const result: GroupResult = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { times: {}, passes: 0, failures: 0, pending: 0 };
  if (status !== 0 && result.failures === 0) result.failures = 1;
  return result;
}

/** One mocha over `files`, its output straight to ours. */
function runTogether(files: string[], args: string[]): GroupResult {
  const file = path.join(dir, `${runs++}.json`);
  const run = spawnSync(process.execPath, [mocha, '--reporter', reporter, ...args, ...files], { cwd: root, stdio: 'inherit', env: { ...process.env, RL_TEST_TIMES: file } });
  return resultOf(file, run.status);
}

/** A mocha per file, `jobs` at a time; each file's output printed whole when it ends. */
async function runApart(files: string[]): Promise<GroupResult> {
  const total: GroupResult = { times: {}, passes: 0, failures: 0, pending: 0 };
  const queue = [...files];
  const one = async (): Promise<void> => {
    for (let test = queue.shift(); test !== undefined; test = queue.shift()) {
      const file = path.join(dir, `${runs++}.json`);
      const start = Date.now();
      const child = spawn(process.execPath, [mocha, '--reporter', reporter, test], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RL_TEST_TIMES: file } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const status = await new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      console.log(`\n--- ${test}: ${((Date.now() - start) / 1000).toFixed(1)} s, exit ${status}${out.replace(/\n+$/, '')}`);
      const result = resultOf(file, status);
      Object.assign(total.times, result.times);
      total.passes += result.passes;
      total.failures += result.failures;
      total.pending += result.pending;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, one));
  return total;
}

const groups: { name: string; files: string[]; run: (files: string[]) => GroupResult | Promise<GroupResult> }[] = [
  { name: 'unit (in-process)', files: suites.unit, run: (files) => runTogether(files, ['--require', path.join(__dirname, 'in-process.js')]) },
];
if (process.argv[2] !== 'unit') {
  groups.push({ name: `integration, parallel (${jobs} at a time)`, files: suites.parallel, run: runApart });
  groups.push({ name: 'integration, serial', files: suites.serial, run: (files) => runTogether(files, []) });
}

async function main(): Promise<void> {
  const results: { name: string; seconds: number; result: GroupResult }[] = [];
  for (const group of groups) {
    if (group.files.length === 0) continue;
    console.log(`\n=== ${group.name}: ${group.files.length} test files`);
    const start = Date.now();
    const result = await group.run(group.files);
    results.push({ name: group.name, seconds: (Date.now() - start) / 1000, result });
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
  process.exitCode = results.every((r) => r.result.failures === 0) ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
