import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { moduleEnvId } from '../src/env-loader';
import { train } from '../src/runtime/learner';
import { freePort } from './helpers/free-port';
import { root, startWorker } from './helpers/cli';
import { pacedEnvModule } from './helpers/paced-env';
import { progress } from './helpers/progress';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-queue-'));

/**
 * IMPALA's `queue` schedule with worker processes: nobody waits. Batches of 4 envs x 16 steps
 * (64 steps), an update per 64 steps taken, 640 steps an iteration: 10 updates each.
 */
const small = ['workers.envsPerWorker=4', 'workers.rolloutLength=16', 'impala.trainBatchSize=64', 'impala.stepsPerIteration=640', 'impala.maxPolicyLag=1000', 'workers.heartbeatSeconds=0.5'];

function config(overrides: string[]) {
  return loadConfig(path.join(root, 'configs', 'impala-cartpole-workers.yaml'), [...small, ...overrides]);
}

/** CartPole whose steps sleep RL_TEST_SLOW_MS each (when set), printing a line per slow step: a slow worker is one started with it. */
function slowEnvModule(): string {
  return pacedEnvModule(tmp, { file: 'slow-cartpole.ts', exportName: 'SlowCartPole', envId: 'CartPole-v1', envVar: 'RL_TEST_SLOW_MS', line: 'slow step' });
}

describe('The queue schedule (IMPALA) with worker processes', function () {
  this.timeout(120_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('survives kill -9 of a worker: only its batch in progress is lost, every iteration keeps its updates, the worker is restarted', async () => {
    const lines: string[] = [];
    let killed = false;
    // Long enough for the restarted process (0.25 s backoff, ~1 s to load tfjs) to join.
    const run = await train(config(['stop.iterations=80', 'workers.numWorkers=2', 'workers.workerTimeoutSeconds=3']), {
      runDir: path.join(tmp, 'kill'),
      log: (l) => {
        lines.push(l);
        if (!killed && /^iter +2 \|/.test(l)) {
          process.kill(Number(/worker 1 \(slot 1, \S+ pid (\d+)/.exec(lines.join('\n'))![1]), 'SIGKILL');
          killed = true;
        }
      },
    });
    assert.equal(run.iterations, 80);
    const rows = progress(run.runDir);
    // 640 steps in whole batches of 64, one update each: 10 updates an iteration, the kill's included.
    assert.deepEqual(rows.map((r) => r.updates), rows.map(() => 10));
    assert.equal(run.envSteps % 64, 0, 'only whole batches were trained on');
    const last = rows.at(-1)!;
    assert.equal(last.rejectedMessages, 0);
    assert.ok(last.workerRestarts >= 1, `workerRestarts ${last.workerRestarts}`);
    // Its batch in progress, if it had one (a worker paused by a full queue has none), is discarded.
    assert.ok(lines.some((l) => /worker 1 \(slot 1, .*\) exited \(SIGKILL\)(; its unfinished batch is discarded)?; 1 live/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /worker 2 \(slot 1, .*\) joined/.test(l)), 'the restarted worker did not join');
  });

  it('is not held back by a worker ten times slower than the other (counts: updates made while it was a member, batches it sampled)', async () => {
    const port = await freePort();
    const file = slowEnvModule();
    // The slow worker: 2 envs x 16 steps, 20 ms a step: at least 0.64 s a batch (the other takes some 20 ms for its 64 steps).
    const slow = startWorker(['--connect', `tcp://127.0.0.1:${port}`, '--envs', '2', '--env-dir', tmp], { env: { RL_TEST_SLOW_MS: '20' } });
    try {
      // Long enough for the slow worker's 3 batches whatever the machine's speed (a fixed 40 iterations ended, on a fast one,
      // before its second), and 10 iterations at least; the cap is for a run that would go on without it.
      const cfg = config(['stop.iterations=5000', 'workers.numWorkers=1', 'workers.workerTimeoutSeconds=20']);
      const enough = new AbortController();
      let iterations = 0;
      const log = (line: string) => {
        if (/^iter +\d+ \|/.test(line)) iterations += 1;
        if (iterations >= 10 && (slow.out().match(/^slow step$/gm)?.length ?? 0) >= 3 * 32) enough.abort();
      };
      const run = await train({ ...cfg, env: { ...cfg.env, id: moduleEnvId(file, 'SlowCartPole') } }, { runDir: path.join(tmp, 'slow'), bind: `tcp://127.0.0.1:${port}`, log, signal: enough.signal });
      const rows = progress(run.runDir);
      const both = rows.filter((r) => r.liveWorkers === 2);
      const updatesWithBoth = both.reduce((s, r) => s + r.updates, 0);
      const slowBatches = Math.floor((slow.out().match(/^slow step$/gm)?.length ?? 0) / 32); // sampled in full
      assert.ok(both.length >= 10, `iterations with both workers live: ${both.length}`);
      assert.ok(slowBatches >= 2, `the slow worker sampled ${slowBatches} batches`);
      // Had the learner waited for every worker, it would have made about one update per slow batch.
      assert.ok(updatesWithBoth >= 5 * slowBatches, `${updatesWithBoth} updates while the slow worker was a member, which sampled ${slowBatches} batches`);
      assert.ok(rows.at(-1)!.workerStepsPerSecondMin * 5 < rows.at(-1)!.workerStepsPerSecondMax, JSON.stringify(rows.at(-1)));
    } finally {
      slow.child.kill('SIGTERM');
      await slow.exited();
    }
  });
});
