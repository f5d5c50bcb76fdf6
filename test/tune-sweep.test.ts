import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import type { TrialRecord } from '../src/tune/results';
import { chromium } from 'playwright-core';
import { startViewServer } from '../src/view/server';
import { cli, exited, rl, root } from './helpers/cli';
import { parseMessage, readRecords } from './helpers/tfrecord-reader';
import { until } from './helpers/until';

/** A tiny PPO CartPole run: 256 env steps an iteration, a checkpoint at each. */
const TINY = [
  'algorithm: ppo',
  'env: { id: CartPole-v1 }',
  'workers: { envsPerWorker: 4, rolloutLength: 64 }',
  'ppo: { numEpochs: 2, minibatchSize: 64 }',
  'checkpoint: { every: 1, everySeconds: 0 }',
  'stop: { envSteps: 1536 }',
].join('\n');

describe('rl tune, end to end (trials in local runner processes)', function () {
  this.timeout(180_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-tune-sweep-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return file;
  };
  /** trials.jsonl's records (written as trials end), by id. */
  const trials = (dir: string) =>
    fs
      .readFileSync(path.join(dir, 'trials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TrialRecord)
      .sort((a, b) => a.id.localeCompare(b.id));
  write('tiny.yaml', TINY);

  it('records a crashing trial with its error and goes on; writes trials.csv, a best.yaml that loads, and HParams sessions with their status', () => {
    const file = write('crash.yaml', ['base: tiny.yaml', 'space:', '  env.config.wrappers: { grid: [[], [{ bogus: 1 }]] }', '  ppo.lr: { loguniform: [1.0e-4, 1.0e-2] }', 'budget: { trials: 2, envSteps: 512 }'].join('\n'));
    const dir = path.join(tmp, 'crash-sweep');
    const r = rl(['tune', '--config', file, '--sweep-dir', dir]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const [ok, crashed] = trials(dir);
    assert.deepEqual([ok.id, ok.status, ok.envSteps, crashed.id, crashed.status], ['t000-s0', 'completed', 512, 't001-s0', 'error']);
    assert.equal(typeof ok.metric, 'number');
    assert.match(crashed.error!, /^error: env CartPole-v1: config\.wrappers\[0\]: unknown key bogus; .* \(exit code 1\)$/);
    assert.match(r.stdout, /trial t001-s0 error: episodeReturnMean - at 0 env steps/);
    const csv = fs.readFileSync(path.join(dir, 'trials.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /^id,index,seed,env\.config\.wrappers,ppo\.lr,status,metric,/);
    const best = loadConfig(path.join(dir, 'best.yaml'));
    assert.deepEqual([best.name, best.stop.envSteps, best.env.config], ['crash-best', 512, { wrappers: [] }], "its trial's budget, as it trained");
    assert.equal((best.ppo as { lr: number }).lr, ok.params['ppo.lr']);
    // The session end of each trial: SessionEndInfo.status 1 (success) and 2 (failure).
    const status = (id: string) => {
      const d = path.join(dir, 'tensorboard', id);
      const events = readRecords(path.join(d, fs.readdirSync(d)[0]));
      const value = parseMessage(parseMessage(events[events.length - 1]).find((f) => f.field === 5)!.value as Buffer).find((f) => f.field === 1)!.value as Buffer;
      const content = parseMessage(parseMessage(parseMessage(value).find((f) => f.field === 9)!.value as Buffer)[0].value as Buffer).find((f) => f.field === 2)!.value as Buffer;
      return parseMessage(parseMessage(content).find((f) => f.field === 4)!.value as Buffer).find((f) => f.field === 1)!.value;
    };
    assert.deepEqual([status('t000-s0'), status('t001-s0')], [1n, 2n]);
  });

  it('shows the sweep in rl view: /api/sweep, and a page with a line per trial in the parallel coordinates and a row per trial', async () => {
    const dir = path.join(tmp, 'crash-sweep'); // the sweep of the test before
    const server = await startViewServer({ runDir: dir, port: 0, host: '127.0.0.1', log: () => {} });
    try {
      const info = (await (await fetch(`${server.url}api/sweep`)).json()) as { metric: string; space: { key: string }[]; trials: { id: string; status: string; metric: number | null }[] };
      assert.deepEqual([info.metric, info.space.map((d) => d.key)], ['episodeReturnMean', ['env.config.wrappers', 'ppo.lr']]);
      assert.deepEqual(info.trials.map((t) => [t.id, t.status, t.metric === null]).sort(), [['t000-s0', 'completed', false], ['t001-s0', 'error', true]]);
      assert.match(await (await fetch(`${server.url}run/trials.csv`)).text(), /^id,index,seed,/);
      assert.equal((await fetch(`${server.url}api/run`)).status, 404, "a sweep dir is not a run: the run page's API is not there");
      if (!fs.existsSync('/usr/bin/chromium')) return console.log('      skipped the page: /usr/bin/chromium is missing');
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        await page.goto(server.url);
        await page.waitForSelector('#parallel polyline');
        assert.deepEqual(await page.locator('#parallel polyline').evaluateAll((ls) => ls.map((l) => [l.getAttribute('data-trial'), l.getAttribute('stroke-dasharray')]).sort()), [['t000-s0', 'none'], ['t001-s0', '4 3']]);
        assert.deepEqual(await page.locator('#trials tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-trial'))), ['t000-s0', 't001-s0'], 'best first, the failed one last');
        assert.match(await page.locator('#summary').innerText(), /^2 trials \((1 completed, 1 error|1 error, 1 completed)\); metric episodeReturnMean \(max\)$/);
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    } finally {
      await server.close();
    }
  });

  it("reads back in TensorBoard's own HParams backend (list_session_groups, as its HPARAMS tab asks), where a python3 with tensorboard is (RL_TENSORBOARD_PYTHON)", function () {
    const python = process.env.RL_TENSORBOARD_PYTHON ?? 'python3';
    if (spawnSync(python, ['-c', 'import tensorboard'], { stdio: 'ignore' }).status !== 0) {
      console.log(`      skipped: ${python} has no tensorboard (pip install tensorboard; RL_TENSORBOARD_PYTHON=its python)`);
      return this.skip();
    }
    const script = [
      'import sys, json',
      'from tensorboard.backend.event_processing import plugin_event_multiplexer as pem, data_provider as dp',
      'from tensorboard.plugins import base_plugin',
      'from tensorboard.plugins.hparams import backend_context, list_session_groups, api_pb2, metadata',
      'from tensorboard import context as tbctx',
      'logdir = sys.argv[1]',
      'm = pem.EventMultiplexer(); m.AddRunsFromDirectory(logdir); m.Reload()',
      'exp = metadata.parse_experiment_plugin_data(m.PluginRunToTagToContent("hparams")["."][metadata.EXPERIMENT_TAG])',
      'bc = backend_context.Context(base_plugin.TBContext(logdir=logdir, data_provider=dp.MultiplexerDataProvider(m, logdir), multiplexer=m))',
      'req = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=[0, 1, 2, 3])',
      'groups = list_session_groups.Handler(tbctx.RequestContext(), bc, "", req).run().session_groups',
      'print(json.dumps({"hparams": [h.name for h in exp.hparam_infos], "metrics": [i.name.tag for i in exp.metric_infos], "groups": sorted([g.name, g.sessions[0].status, [v.value for v in g.metric_values]] for g in groups)}))',
    ].join('\n');
    const r = spawnSync(python, ['-c', script, path.join(tmp, 'crash-sweep', 'tensorboard')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { hparams: string[]; metrics: string[]; groups: [string, number, number[]][] };
    assert.deepEqual([out.hparams, out.metrics], [['env.config.wrappers', 'ppo.lr', 'seed'], ['episodeReturnMean']]);
    const ok = trials(path.join(tmp, 'crash-sweep'))[0];
    assert.deepEqual(out.groups, [['t000-s0', 1, [Math.fround(ok.metric!)]], ['t001-s0', 2, []]], 'STATUS_SUCCESS with its metric, STATUS_FAILURE without');
  });

  it('continues after kill -9 of the tuner: finished trials are kept as they were, the running one resumes from its checkpoint', async () => {
    const file = write('resume.yaml', ['base: tiny.yaml', 'space: { ppo.lr: { loguniform: [1.0e-4, 1.0e-2] } }', 'budget: { trials: 3 }', 'concurrency: 1'].join('\n'));
    const dir = path.join(tmp, 'resume-sweep');
    const args = [cli, 'tune', '--config', file, '--sweep-dir', dir];
    const tuner = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const second = path.join(dir, 'trials', 't001-s0', 'checkpoints');
    await until('the first trial finished and the second checkpointed', () => fs.existsSync(path.join(dir, 'trials.jsonl')) && trials(dir).length === 1 && fs.existsSync(second) && fs.readdirSync(second).some((n) => n.startsWith('iter_')), { ms: 90_000, every: 20 });
    tuner.kill('SIGKILL');
    await exited(tuner);
    const before = trials(dir);
    const r = rl(['tune', '--config', file, '--sweep-dir', dir], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /continuing the sweep in .*: 1 trials finished, 2 to run/);
    const after = trials(dir);
    assert.deepEqual(after[0], before[0], 'the finished trial is kept as it was');
    assert.deepEqual(after.map((t) => [t.id, t.status, t.envSteps]), [['t000-s0', 'completed', 1536], ['t001-s0', 'completed', 1536], ['t002-s0', 'completed', 1536]]);
    const log = fs.readFileSync(path.join(dir, 'logs', 't001-s0.log'), 'utf8');
    assert.match(log, /resuming .*trials\/t001-s0\/checkpoints\/iter_0000\d\d: iteration \d/);
    const iterations = fs.readFileSync(path.join(dir, 'trials', 't001-s0', 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iteration);
    assert.deepEqual(iterations, [1, 2, 3, 4, 5, 6], 'no iteration twice, none lost');
  });

  it('runs local trials in long-lived runners: a runner killed -9 mid-trial is started again and the trial resumes on it, each iteration once', async () => {
    write('longer.yaml', TINY.replace('envSteps: 1536', 'envSteps: 6144'));
    const file = write('runner-kill.yaml', ['base: longer.yaml', 'space: { ppo.lr: { grid: [0.001, 0.002] } }', 'budget: { trials: 2 }', 'concurrency: 1'].join('\n'));
    const dir = path.join(tmp, 'runner-kill-sweep');
    const tuner = spawn(process.execPath, [cli, 'tune', '--config', file, '--sweep-dir', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tuner.stdout!.on('data', (d) => (out += d));
    tuner.stderr!.on('data', (d) => (out += d));
    // The trial runs in the runner's own process, which holds its run dir's lock.
    const runDir = path.join(dir, 'trials', 't000-s0');
    const pid = await until('the first trial to have two checkpoints', () => {
      const ckpts = path.join(runDir, 'checkpoints');
      if (!fs.existsSync(ckpts) || fs.readdirSync(ckpts).filter((n) => n.startsWith('iter_')).length < 2) return undefined;
      try {
        return (JSON.parse(fs.readFileSync(path.join(runDir, '.rl-lock'), 'utf8')) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    }, { ms: 90_000, every: 20 });
    assert.notEqual(pid, tuner.pid, 'not in the tuner');
    process.kill(pid, 'SIGKILL');
    assert.equal(await exited(tuner), 0, out);
    assert.match(out, new RegExp(`^local trial runner 0 \\(pid ${pid}\\) ended \\(SIGKILL; see logs/runner-0\\.log\\); starting another$`, 'm'));
    const [first, second] = trials(dir);
    assert.deepEqual([first.status, second.status], ['completed', 'completed']);
    assert.equal(first.ranOn?.length, 2, JSON.stringify(first));
    assert.equal(first.ranOn![0], `local runner0 (pid ${pid})`);
    assert.match(first.ranOn![1], /^local runner0 \(pid \d+\)$/);
    assert.notEqual(first.ranOn![1], first.ranOn![0]);
    assert.match(fs.readFileSync(path.join(dir, 'logs', 't000-s0.log'), 'utf8'), /resuming .*trials\/t000-s0\/checkpoints\/iter_0000\d\d: iteration \d/);
    const iterations = fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iteration);
    assert.deepEqual(iterations, Array.from({ length: 24 }, (_, i) => i + 1), 'no iteration twice, none lost');
    assert.ok(!fs.existsSync(path.join(dir, 'runners')), "the runners' work dirs are gone");
  });

  it("stops a runner's trial at an ASHA rung: it ends after its iteration with a checkpoint, status stopped, and the runner takes the next", () => {
    write('longer.yaml', TINY.replace('envSteps: 1536', 'envSteps: 6144')); // 24 iterations: a stop at rung 2, 4 or 8 comes before the end
    const file = write('asha.yaml', ['base: longer.yaml', 'space: { ppo.lr: { grid: [0.00001, 0.01, 0.00002, 0.02] } }', 'budget: { trials: 4 }', 'concurrency: 1', 'scheduler: { type: asha, resource: iterations, grace: 2, eta: 2 }'].join('\n'));
    const dir = path.join(tmp, 'asha-sweep');
    const r = rl(['tune', '--config', file, '--sweep-dir', dir], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const all = trials(dir);
    const stopped = all.filter((t) => t.status === 'stopped');
    assert.ok(stopped.length >= 1, JSON.stringify(all.map((t) => [t.id, t.status, t.iterations])));
    for (const t of stopped) {
      assert.ok(t.iterations < 24, `${t.id} stopped at iteration ${t.iterations}`);
      assert.match(t.ranOn![0], /^local runner0 \(pid \d+\)$/);
    }
    assert.equal(new Set(all.map((t) => t.ranOn![0])).size, 1, 'one runner took every trial');
  });

  it('runs one training config over seeds and reports the IQM and bootstrap interval of the final metric', () => {
    const dir = path.join(tmp, 'seeds-sweep');
    const r = rl(['tune', '--config', path.join(tmp, 'tiny.yaml'), '--seeds', '0-2', '--sweep-dir', dir]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(trials(dir).map((t) => [t.id, t.seed]), [['t000-s0', 0], ['t000-s1', 1], ['t000-s2', 2]]);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.metric.values.length, 3);
    assert.ok(summary.metric.ci95[0] <= summary.metric.iqm && summary.metric.iqm <= summary.metric.ci95[1]);
    assert.match(r.stdout, /final episodeReturnMean: IQM \d+\.\d\d, 95% CI \[\d+\.\d\d, \d+\.\d\d\] over 3 seeds/);
  });

  it('runs PBT: members end at each interval, the bottom half copies a top checkpoint and resumes from it with explored values in bounds', () => {
    const file = write('pbt.yaml', ['base: tiny.yaml', 'space: { ppo.lr: { loguniform: [1.0e-4, 1.0e-2] }, ppo.numEpochs: { int: [1, 4] } }', 'budget: { trials: 4 }', 'concurrency: 2', 'scheduler: { type: pbt, interval: 2, quantile: 0.5 }'].join('\n'));
    const dir = path.join(tmp, 'pbt-sweep');
    const r = rl(['tune', '--config', file, '--sweep-dir', dir], { timeoutMs: 150_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(trials(dir).map((t) => [t.id, t.status, t.envSteps]), ['t000-s0', 't001-s0', 't002-s0', 't003-s0'].map((id) => [id, 'completed', 1536]));
    const events = fs.readFileSync(path.join(dir, 'pbt.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.length >= 1, r.stdout);
    for (const e of events) {
      assert.notEqual(e.donor, e.member);
      assert.match(e.checkpoint, new RegExp(`^trials/${e.member}/checkpoints/iter_\\d{6}$`));
      assert.ok(e.params['ppo.lr'] >= 1e-4 && e.params['ppo.lr'] <= 1e-2 && [1, 2, 3, 4].includes(e.params['ppo.numEpochs']), JSON.stringify(e));
    }
    // The first exploit: the member's next launch resumed from the copied checkpoint, with its new values.
    const e = events[0];
    const log = fs.readFileSync(path.join(dir, 'logs', `${e.member}.log`), 'utf8');
    assert.match(log, new RegExp(`resuming \\S*${e.checkpoint.replace(/\//g, '\\/')}: iteration \\d+`));
    assert.match(r.stdout, new RegExp(`trial ${e.member} \\(episodeReturnMean [-\\d.]+\\) copies ${e.donor}'s checkpoint iter_\\d{6} and explores`));
  });
});
