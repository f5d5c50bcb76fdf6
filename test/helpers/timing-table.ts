/** Per test file: the milliseconds of its tests and hooks, and its number of tests. */
export type FileTimes = Record<string, { ms: number; tests: number }>;

/** What the timing reporter leaves for the suite runner (RL_TEST_TIMES): the times and mocha's counts of one run. */
export interface GroupResult {
  times: FileTimes;
  passes: number;
  failures: number;
  pending: number;
}

/** The rows of a timing table, slowest first, and a total line. */
export function timingTable(times: FileTimes, title: string): string {
  const rows = Object.entries(times).sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((sum, [, t]) => sum + t.ms, 0);
  const width = Math.max(...rows.map(([file]) => file.length), 'total'.length);
  const line = (name: string, ms: number, tests: string) => `  ${name.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(7)} s  ${tests}`;
  return [`  ${title}`, ...rows.map(([file, t]) => line(file, t.ms, `${t.tests} tests`)), line('total', total, '(the sum: files overlap under --parallel)')].join('\n');
}
