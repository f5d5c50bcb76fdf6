#!/usr/bin/env node
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { listEnvs, listMultiAgentEnvs, makeEnv, makeMultiAgentEnv } from '../envs';
import { selectBackend } from './backend';
import { INFERENCE_CHOICES, inferenceEngine, type InferenceChoice } from './inference/engine';
import { checkEnv } from './check-env';
import { resolveCheckpoint, resumeFrom } from './checkpoint';
import { agentCurve, learnerCurve, tunerCurve, workerCurve } from './security';
import { generateKeys } from './transport/curve';
import { WorkerProcess } from './runtime/worker-process';
import { resolveEnvDir } from './env-loader';
import { trustSourceEnv } from './checkpoint/env-trust';
import { checkResumable, configFromCheckpoint, describeRun, evaluateCheckpoint } from './commands';
import { bindProblem, connectProblem } from './transport/endpoint';
import { runDirProblem } from './run-dir';
import { MAX_BATCH_ENVS } from './transport/limits';
import { loadConfig } from './config/load';
import { ConfigError, RlError } from '../core/errors';
import { train } from './runtime/learner';
import { startViewServer } from './view/server';
import { EXPORT_FORMATS, exportPolicy } from './export/export';
import { deployKubernetes, SECRET_FILE } from './deploy/kubernetes';
import { loadTuneFile, parseSeeds } from './tune/tune-file';
import { runSweep } from './tune/sweep';
import { TrialAgent } from './tune/agent';
import { describeSweep } from './tune/sweep-report';

/** The names of rl's commands, in the order `main` registers them (through `named`). */
const commandNames: string[] = [];
/** A command's yargs spec (`view <run>`), its name recorded for the message that asks for a command. */
function named(spec: string): string {
  commandNames.push(spec.split(' ')[0]);
  return spec;
}

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('rl')
    .command(
      named('train'),
      'train a policy from a YAML config',
      (y) =>
        y
          .option('config', { type: 'string', describe: 'YAML config file' })
          .option('resume', { type: 'string', describe: 'continue a run: its run dir (latest checkpoint) or a checkpoint dir; auto: --run-dir\'s newest intact checkpoint, or a fresh run from --config if it has none (for supervisors)' })
          .option('set', { type: 'string', array: true, default: [], describe: 'override a key: --set workers.numWorkers=4 (or a key of the algorithm\'s section)' })
          .option('run-dir', { type: 'string', describe: 'where the run goes (default runs/<name>-<timestamp>)' })
          .option('seed', { type: 'string', coerce: wholeNumber('--seed', 0), describe: 'overrides the config seed' })
          .option('bind', { type: 'string', coerce: endpoint(bindProblem), describe: 'also take remote workers here, e.g. tcp://0.0.0.0:5555 (weights go out on the next port)' })
          .option('keys', { type: 'string', describe: "CURVE: the learner's key folder (rl keys generate DIR)" })
          .option('allowed-keys', { type: 'string', describe: 'CURVE: a folder of the public keys of allowed workers' })
          .option('insecure', { type: 'boolean', default: false, describe: 'bind a non-loopback address without CURVE' })
          .option('env-dir', { type: 'string', array: true, default: [], describe: "with --resume and no --config: where the checkpoint's env module (code) may be loaded from; repeatable" }),
      async (args) => {
        if (!args.config && !args.resume) throw new ConfigError('rl train: name --config FILE, or --resume RUN_DIR');
        const overrides = [...args.set];
        if (args.seed !== undefined) overrides.push(`seed=${args.seed}`);
        const auto = args.resume === 'auto';
        if (auto && !args['run-dir']) throw new ConfigError('--resume auto needs --run-dir DIR: the run dir to resume, or to start in while it holds no checkpoint');
        if (auto && !args.config) throw new ConfigError('--resume auto needs --config FILE: the run to start while --run-dir holds no checkpoint');
        const resume = args.resume ? resumeFrom(args.resume, args['run-dir'], (l) => console.log(l)) : undefined;
        const config = args.config ? loadConfig(args.config, overrides) : configFromCheckpoint(resume!, overrides);
        if (resume) checkResumable(resume, config);
        // Without --config, the env is the one the checkpoint names: a module env is code, loaded only from an --env-dir.
        if (!args.config) trustSourceEnv(config.env, { source: resume!, command: 'rl train --resume', envDirs: args['env-dir'].map(resolveEnvDir), log: (l) => console.log(l) });
        const runDir = args['run-dir'] ?? (resume ? path.dirname(path.dirname(resume)) : undefined); // as the learner picks it
        const replaceLeftovers = auto && !resume; // a fresh auto start: a crashed first attempt's files are replaced
        const taken = runDir === undefined ? undefined : runDirProblem(runDir, { resume, replaceLeftovers });
        if (taken) throw new ConfigError(taken); // before the backend and workers start; the learner takes the dir's lock
        // First Ctrl-C: finish the iteration and stop cleanly; second: exit at once.
        const abort = new AbortController();
        process.once('SIGINT', () => {
          console.error('\nstopping after this iteration (Ctrl-C again to quit now)');
          abort.abort();
          process.once('SIGINT', () => process.exit(130));
        });
        process.once('SIGTERM', () => abort.abort());
        // Started by `rl tune` (an IPC channel): a tuner that dies (kill -9) ends the trial the same way, with a checkpoint.
        if (process.channel) {
          process.channel.unref();
          process.once('disconnect', () => abort.abort());
        }
        const curve = learnerCurve(args.bind, args.keys, args['allowed-keys'], args.insecure);
        await train(config, { runDir: args['run-dir'], resume, replaceLeftovers, signal: abort.signal, bind: args.bind, curve });
      },
    )
    .command(
      named('tune'),
      'search hyperparameters (random, grid, ASHA) from a tune file, or run one training config over many seeds',
      (y) =>
        y
          .option('config', { type: 'string', demandOption: true, describe: 'a tune file (base:, space:, metric:, budget:, scheduler:), or a training config with --seeds' })
          .option('seeds', { type: 'string', describe: "the runs' seeds, 0-9 or 0,3,7: a training config's runs, or each configuration's runs of a tune file" })
          .option('sweep-dir', { type: 'string', describe: 'where the sweep goes (default sweeps/<name>); the same command again continues it' })
          .option('concurrency', { type: 'string', coerce: wholeNumber('--concurrency', 0, 1024), describe: "trials at once on this machine (default: the cores, each trial's workers counted; 0 with --bind: agents only)" })
          .option('bind', { type: 'string', coerce: endpoint(tuneBindProblem), describe: 'also run trials on trial agents (rl tune-agent) that connect here, e.g. tcp://0.0.0.0:5600' })
          .option('keys', { type: 'string', describe: "CURVE: the tuner's key folder (rl keys generate DIR)" })
          .option('allowed-keys', { type: 'string', describe: 'CURVE: a folder of the public keys of allowed agents' })
          .option('insecure', { type: 'boolean', default: false, describe: 'bind a non-loopback address without CURVE' })
          .option('local', { choices: ['runners', 'processes'] as const, default: 'runners' as const, describe: "how trials run on this machine: in long-lived runner processes, trial after trial (runners), or each an rl train process of its own (processes)" })
          .option('agent-timeout', { type: 'string', coerce: wholeNumber('--agent-timeout', 1, 3600), describe: "seconds of an agent's silence before its trials are rescheduled (default 10)" }),
      async (args) => {
        const spec = loadTuneFile(args.config, { seeds: args.seeds === undefined ? undefined : parseSeeds(args.seeds) });
        if (args.concurrency !== undefined) spec.concurrency = args.concurrency;
        if (spec.concurrency === 0 && !args.bind) throw new ConfigError('--concurrency 0 runs no trial on this machine: give --bind ADDRESS for trial agents, or --concurrency 1 or more');
        const agents = args.bind ? { bind: args.bind, curve: tunerCurve(args.bind, args.keys, args['allowed-keys'], args.insecure), timeoutSeconds: args['agent-timeout'] } : undefined;
        const sweepDir = args['sweep-dir'] ?? path.join('sweeps', spec.name);
        console.log(`rl tune: ${spec.configs.length} configuration(s) x ${spec.seeds.length} seed(s), ${spec.concurrency} at once, ${spec.scheduler.type}; sweep dir ${sweepDir}`);
        // Ctrl-C or SIGTERM: the trials each end after their iteration with a checkpoint (the IPC channel closes); the same command continues.
        const quit = () => process.exit(130);
        process.once('SIGINT', quit);
        process.once('SIGTERM', quit);
        const result = await runSweep(spec, { sweepDir, agents, local: args.local });
        console.log(describeSweep(result, spec.metric));
        if (agents) process.exit(0); // the agents' socket would keep it alive
      },
    )
    .command(
      named('tune-agent'),
      "run whole trials for a tuner: rl tune-agent --connect tcp://TUNER:5600 (the tuner's --bind)",
      (y) =>
        y
          .option('connect', { type: 'string', demandOption: true, coerce: endpoint(connectProblem), describe: "the tuner's --bind address (tcp://HOST:PORT) or ipc endpoint" })
          .option('slots', { type: 'string', default: '1', coerce: wholeNumber('--slots', 1, 1024), describe: 'trials at once' })
          .option('work-dir', { type: 'string', default: 'tune-agent', describe: "where the trials' run dirs go while they run" })
          .option('name', { type: 'string', describe: "this agent's name in the tuner's trials.jsonl (default the host name)" })
          .option('keys', { type: 'string', describe: "CURVE: this agent's key folder (rl keys generate DIR)" })
          .option('tuner-key', { type: 'string', describe: "CURVE: the tuner's public.key: the only tuner whose trials this agent runs" })
          .option('insecure', { type: 'boolean', default: false, describe: 'connect to a non-loopback tuner without CURVE' })
          .option('accept-code', { type: 'boolean', default: false, describe: 'run the env code the tuner ships (bundled, by sha256), only over CURVE to the --tuner-key given' })
          .option('runner-sweep-dir', { type: 'string', hidden: true, describe: "a local runner of rl tune's: trials in-process, in this sweep dir" })
          .option('tuner-timeout', { type: 'string', default: '30', coerce: wholeNumber('--tuner-timeout', 1, 3600), describe: "seconds of the tuner's silence before this agent stops its trials" }),
      async (args) => {
        const curve = agentCurve(args.connect, args.keys, args['tuner-key'], args.insecure);
        const agent = new TrialAgent({ connect: args.connect, curve, slots: args.slots, acceptCode: args['accept-code'], workDir: path.resolve(args['work-dir']), name: args.name, tunerTimeoutSeconds: args['tuner-timeout'], runner: args['runner-sweep-dir'] ? { sweepDir: path.resolve(args['runner-sweep-dir']) } : undefined });
        // SIGTERM or Ctrl-C: the running trials end with a checkpoint, sent to the tuner, then the agent.
        process.once('SIGINT', () => agent.stop());
        process.once('SIGTERM', () => agent.stop());
        process.once('disconnect', () => agent.stop()); // a local runner whose tuner died
        await agent.run();
        process.exit(agent.refused ? 3 : 0);
      },
    )
    .command(
      named('evaluate'),
      "score a checkpoint's policy",
      (y) =>
        y
          .option('checkpoint', { type: 'string', demandOption: true, describe: 'a checkpoint dir, or a run dir (its best checkpoint if it has one, else its latest)' })
          .option('latest', { type: 'boolean', default: false, describe: "a run dir's newest checkpoint rather than its best" })
          .option('episodes', { type: 'string', coerce: wholeNumber('--episodes', 1, 1_000_000), describe: 'episodes to run (default 100; 1 with --video); a multi-agent checkpoint: games per seat against each opponent' })
          .option('opponent', { type: 'string', array: true, default: [], describe: "a multi-agent checkpoint's opponent: a built-in player of its env (random, minimax:2), self, or checkpoint:DIR; repeatable (default: the config's multiAgent.evaluate, else random)" })
          .option('policy', { type: 'string', describe: "which of the checkpoint's policies plays (default: the one it trained)" })
          .option('video', { type: 'string', describe: 'record the episodes to FILE.gif or FILE.mp4 (mp4 needs ffmpeg)' })
          .option('seed', { type: 'string', default: '0', coerce: wholeNumber('--seed', 0), describe: 'seeds the envs (and sampling with --stochastic)' })
          .option('stochastic', { type: 'boolean', default: false, describe: 'sample actions instead of the greedy ones' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
          .option('env-dir', { type: 'string', array: true, default: [], describe: "where the checkpoint's env module (code) may be loaded from, if its env is one; repeatable" }),
      async (args) => {
        const episodes = args.episodes ?? (args.video ? 1 : 100);
        const result = await evaluateCheckpoint(resolveCheckpoint(args.checkpoint, pick(args.latest)), { ...args, episodes, envDirs: args['env-dir'], opponents: args.opponent });
        if (args.json) console.log(JSON.stringify(result));
      },
    )
    .command(
      named('export'),
      "write a checkpoint's policy for use outside the framework: onnx, tfjs (graph model) or js (one ES module)",
      (y) =>
        y
          .option('checkpoint', { type: 'string', demandOption: true, describe: 'a checkpoint dir, or a run dir (its best checkpoint if it has one, else its latest)' })
          .option('latest', { type: 'boolean', default: false, describe: "a run dir's newest checkpoint rather than its best" })
          .option('format', { type: 'string', demandOption: true, describe: `${EXPORT_FORMATS.join(' | ')}; onnx: policy.onnx; tfjs: a folder with model.json; js: one dependency-free ES module (MLP policies)` })
          .option('out', { type: 'string', demandOption: true, describe: 'the file (onnx, js) or folder (tfjs) to write' })
          .option('policy', { type: 'string', describe: "which of the checkpoint's policies (default: the one it trained; a single-agent run has one, default)" }),
      async (args) => {
        const files = await exportPolicy({ checkpoint: args.checkpoint, format: args.format, out: args.out, policyId: args.policy, ...pick(args.latest) });
        console.log(`wrote ${files.join(', ')}`);
      },
    )
    .command(
      named('worker'),
      'sample for a learner: rl worker --connect tcp://LEARNER:5555',
      (y) =>
        y
          .option('connect', { type: 'string', demandOption: true, coerce: endpoint(connectProblem), describe: "the learner's --bind address (tcp://HOST:PORT) or ipc endpoint" })
          .option('envs', { type: 'string', coerce: wholeNumber('--envs', 1, MAX_BATCH_ENVS), describe: 'envs to step (default: the config’s envsPerWorker)' })
          .option('slot', { type: 'string', coerce: wholeNumber('--slot', 0), hidden: true })
          .option('keys', { type: 'string', describe: "CURVE: this worker's key folder (rl keys generate DIR)" })
          .option('learner-key', { type: 'string', describe: "CURVE: the learner's public.key" })
          .option('insecure', { type: 'boolean', default: false, describe: 'connect to a non-loopback learner without CURVE' })
          .option('env-dir', { type: 'string', array: true, default: [], describe: 'a directory whose env modules (code) the learner may have this worker load; repeatable. Registered envs need none' })
          .option('accept-code', { type: 'boolean', default: false, describe: 'run the env code the learner ships (bundled, by sha256), only over CURVE to the --learner-key given' })
          .option('cache-dir', { type: 'string', describe: 'where shipped env code is kept (default ~/.cache/rl-zmq/env-code)' })
          .option('inference', { choices: INFERENCE_CHOICES, default: 'auto' as InferenceChoice, describe: "what runs the policy's forward pass: onnxruntime where installed (auto), tfjs, or onnx (an error where it is not)" }),
      async (args) => {
        const curve = workerCurve(args.connect, args.keys, args['learner-key'], args.insecure);
        // SIGTERM or Ctrl-C, whenever it comes, ends the worker with exit code 0 (a second one at once).
        let worker: WorkerProcess | undefined;
        let stopping = false;
        const stop = () => {
          if (stopping) process.exit(process.exitCode ?? 0);
          stopping = true;
          worker?.stop();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.once('disconnect', stop); // a spawned worker whose learner died
        await selectBackend('auto');
        if (stopping) process.exit(0);
        // A spawned worker stays quiet: its learner reports it joining, failing and leaving.
        const log = args.slot === undefined ? (l: string) => console.log(l) : () => {};
        const trust = { envDirs: args['env-dir'].map(resolveEnvDir) };
        const code = { acceptCode: args['accept-code'], insecure: args.insecure, cacheDir: args['cache-dir'] && path.resolve(args['cache-dir']) };
        const inference = { choice: args.inference, engine: await inferenceEngine(args.inference, log) };
        worker = new WorkerProcess({ connect: args.connect, numEnvs: args.envs, slot: args.slot, curve, trust, inference, log, ...code });
        await worker.run();
        process.exit(process.exitCode ?? 0); // the IPC channel of a spawned worker would keep it alive
      },
    )
    .command(
      named('keys <action> <dir>'),
      'CURVE keys: rl keys generate DIR writes DIR/public.key and DIR/secret.key',
      (y) =>
        y.positional('action', { choices: ['generate'] as const, demandOption: true }).positional('dir', { type: 'string', demandOption: true }),
      (args) => {
        const pair = generateKeys(args.dir);
        console.log(`wrote ${args.dir}/public.key (${pair.publicKey}) and ${args.dir}/secret.key`);
      },
    )
    .command(
      named('deploy <target>'),
      'manifests for a cluster: rl deploy kubernetes --config FILE --image IMG --workers N --out DIR',
      (y) =>
        y
          .positional('target', { choices: ['kubernetes'] as const, demandOption: true })
          .option('config', { type: 'string', demandOption: true, describe: 'a training config, or a tune file (a sweep: the tuner in the StatefulSet, its trial agents in the Deployment)' })
          .option('image', { type: 'string', demandOption: true, describe: "the pods' image, built from this repository's Dockerfile (REGISTRY/rl-zmq:TAG)" })
          .option('workers', { type: 'string', demandOption: true, describe: 'worker pods (the Deployment scales later: kubectl scale)' })
          .option('envs-per-worker', { type: 'string', describe: "envs each worker steps (default: the config's workers.envsPerWorker)" })
          .option('namespace', { type: 'string', default: 'default', describe: 'the Kubernetes namespace' })
          .option('create-namespace', { type: 'boolean', default: false, describe: 'also write a Namespace object' })
          .option('gpu', { type: 'boolean', default: false, describe: 'the learner gets one nvidia.com/gpu and backend tensorflow-gpu' })
          .option('autoscale', { type: 'string', describe: 'MIN:MAX worker pods, scaled on CPU by a HorizontalPodAutoscaler' })
          .option('out', { type: 'string', demandOption: true, describe: 'a new or empty folder for the YAML files' }),
      async (args) => {
        const r = await deployKubernetes({ ...args, envsPerWorker: args['envs-per-worker'], createNamespace: args['create-namespace'] });
        console.log(`wrote ${r.files.length} files to ${r.dir}: ${r.files.join(', ')}`);
        console.log(`  ${SECRET_FILE} holds the run's CURVE secret keys: keep it out of git (${r.dir}/.gitignore lists it)`);
        console.log(`next:\n${r.next.map((l) => `  ${l}`).join('\n')}`);
      },
    )
    .command(
      named('info <path>'),
      'what a run dir or a checkpoint is',
      (y) =>
        y
          .positional('path', { type: 'string', demandOption: true, describe: 'a run dir (its best checkpoint if it has one, else its latest) or a checkpoint dir' })
          .option('latest', { type: 'boolean', default: false, describe: "describe a run dir's newest checkpoint rather than its best" }),
      (args) => {
        const info = describeRun(args.path, { prefer: args.latest ? 'latest' : 'best' });
        console.log(info.text);
        if (info.damaged) process.exitCode = 1;
      },
    )
    .command(
      named('check-env <env>'),
      "check an env's contract with random actions: rl check-env CartPole-v1, rl check-env ./my-env.ts:MyEnv",
      (y) =>
        y
          .positional('env', { type: 'string', demandOption: true, describe: 'a registered id, or path[:export] of your module' })
          .option('steps', { type: 'string', default: '1000', coerce: wholeNumber('--steps', 1), describe: 'random steps to take' })
          .option('seed', { type: 'string', default: '0', coerce: wholeNumber('--seed', 0), describe: 'seeds the env and the random actions' }),
      (args) => {
        const r = checkEnv(args.env, { steps: args.steps, seed: args.seed });
        for (const p of r.passed) console.log(`ok  ${p}`);
        for (const p of r.problems) console.log(`BAD ${p}`);
        console.log(r.problems.length === 0 ? `${args.env}: no problems found` : `${args.env}: ${r.problems.length} problem(s)`);
        if (r.problems.length > 0) process.exitCode = 1;
      },
    )
    .command(
      named('view <run>'),
      'the run in a browser: live curves, config, checkpoints, and the policy playing its env',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true, describe: 'a run dir' })
          .option('port', { type: 'number', default: 8080, describe: 'port to serve on (0: any free one)' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to serve on; anyone who reaches it sees the run' })
          .option('env-dir', { type: 'string', array: true, default: [], describe: "where the run's env module (code) may be bundled into the page from, if its env is one; repeatable" }),
      async (args) => {
        const server = await startViewServer({ runDir: args.run, port: args.port, host: args.host, envDirs: args['env-dir'].map(resolveEnvDir), log: (l) => console.error(l) });
        if (!['127.0.0.1', 'localhost', '::1'].includes(args.host)) console.error(`warning: serving ${args.run} on ${args.host}: anyone who can reach it sees the run (no authentication)`);
        console.log(`rl view: ${server.url} (run ${args.run}); Ctrl-C to stop`);
        const stop = () => void server.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    )
    .command(
      named('envs'),
      'list the registered environments',
      (y) => y,
      () => {
        const rows = listEnvs().map((spec) => {
          const env = makeEnv(spec.id);
          const row = [spec.id, `obs ${env.observationSpace}`, `actions ${env.actionSpace}`, `max steps ${spec.maxEpisodeSteps ?? '-'}`, `solved at ${spec.rewardThreshold ?? '-'}`];
          env.close();
          return row;
        });
        for (const spec of listMultiAgentEnvs()) {
          const env = makeMultiAgentEnv(spec.id);
          const first = env.possibleAgents[0];
          rows.push([spec.id, `multi-agent (${env.possibleAgents.join(', ')}): obs ${env.observationSpaces[first]}`, `actions ${env.actionSpaces[first]}`, 'max steps -', 'solved at -']);
          env.close();
        }
        const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
        for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
      },
    )
    .demandCommand(1, `name a command: ${commandNames.join(', ')} (rl --help)`)
    .strict()
    .fail((msg, err) => {
      if (err && !isUsageError(err)) throw err;
      throw new ConfigError(msg ?? err.message);
    })
    .help()
    .parseAsync();
}

/** How `rl evaluate` and `rl export` take a run dir: its best checkpoint, or with --latest its newest; the choice is said on stderr. */
function pick(latest: boolean) {
  return { prefer: latest ? ('latest' as const) : ('best' as const), say: (line: string) => console.error(line) };
}

/**
 * A yargs `coerce` for a whole-number flag: the value as typed, checked (yargs's own `number`
 * type turns `abc` into NaN and lets -5 through).
 */
function wholeNumber(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string | number | (string | number)[]): number => {
    const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
    const n = /^[+-]?\d+(e\d+)?$/i.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new ConfigError(`${flag} (${JSON.stringify(text)}) must be a whole number ${range}`);
    }
    return n;
  };
}

/** Why `endpoint` cannot be `rl tune --bind`, or undefined if it can: tcp://HOST:PORT or ipc://PATH. */
function tuneBindProblem(endpoint: string): string | undefined {
  if (/^ipc:\/\/.+/.test(endpoint) || /^tcp:\/\/.+:\d+$/.test(endpoint)) return undefined;
  return `rl tune --bind ${endpoint}: expected tcp://HOST:PORT (e.g. tcp://0.0.0.0:5600) or ipc://PATH`;
}

/** A yargs `coerce` for an endpoint flag: the value, or a ConfigError saying why not. */
function endpoint(problem: (e: string) => string | undefined) {
  return (raw: string | string[]): string => {
    const e = String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
    const why = problem(e);
    if (why) throw new ConfigError(why);
    return e;
  };
}

/** yargs wraps what a `coerce` throws in its own YError: still the user's input, one line. */
function isUsageError(err: unknown): boolean {
  return err instanceof ConfigError || (err instanceof Error && err.name === 'YError');
}

main(hideBin(process.argv)).catch((err: unknown) => {
  if (isUsageError(err)) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  }
  if (err instanceof RlError) {
    console.error(`error: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(1);
});
