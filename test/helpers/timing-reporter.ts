/**
 * mocha's spec reporter, then a table of the time each test file took (its tests and hooks,
 * slowest first) where the run had several, so that slow tests are visible in CI. With RL_TEST_TIMES=FILE it also writes
 * the times and the counts there as JSON (a GroupResult), for the suite runner to merge groups. Works under
 * --parallel too: each test and hook carries its file and duration from the worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha = require('mocha');
import { timingTable, type FileTimes, type GroupResult } from './timing-table';

const { EVENT_HOOK_END, EVENT_RUN_END, EVENT_TEST_END } = Mocha.Runner.constants;

class TimingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const times: FileTimes = {};
    const add = (runnable: Mocha.Runnable, test: boolean) => {
      const file = runnable.file ? path.relative(process.cwd(), runnable.file) : '(root hooks)';
      const t = (times[file] ??= { ms: 0, tests: 0 });
      t.ms += runnable.duration ?? 0;
      if (test) t.tests += 1;
    };
    runner.on(EVENT_TEST_END, (test) => add(test, true));
    runner.on(EVENT_HOOK_END, (hook) => add(hook, false));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      if (process.env.RL_TEST_TIMES) fs.writeFileSync(process.env.RL_TEST_TIMES, JSON.stringify({ times, passes, failures, pending } satisfies GroupResult));
      // After the spec reporter's summary (it prints on the same event): hence the next tick.
      if (Object.keys(times).length > 1) process.nextTick(() => console.log(`\n${timingTable(times, 'time per test file (tests and hooks):')}\n`));
    });
  }
}

export = TimingReporter;
