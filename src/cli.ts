#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { listEnvs, makeEnv } from '../envs';
import { resolveCheckpoint } from './checkpoint';
import { configFromCheckpoint, describeRun, evaluateCheckpoint } from './commands';
import { loadConfig } from './config/load';
import { ConfigError, RlError } from './errors';
import { train } from './learner';

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('rl')
    .command(
      'train',
      'train a policy from a YAML config',
      (y) =>
        y
          .option('config', { type: 'string', describe: 'YAML config file' })
          .option('resume', { type: 'string', describe: 'continue a run: its run dir (latest checkpoint) or a checkpoint dir' })
          .check((a) => (a.config || a.resume ? true : 'name --config FILE, or --resume RUN_DIR'))
          .option('set', { type: 'string', array: true, default: [], describe: 'override a key: --set ppo.lr=0.001' })
          .option('run-dir', { type: 'string', describe: 'where the run goes (default runs/<name>-<timestamp>)' })
          .option('seed', { type: 'number', describe: 'overrides the config seed' }),
      async (args) => {
        const overrides = [...args.set];
        if (args.seed !== undefined) overrides.push(`seed=${args.seed}`);
        const resume = args.resume ? resolveCheckpoint(args.resume) : undefined;
        const config = args.config ? loadConfig(args.config, overrides) : configFromCheckpoint(resume!, overrides);
        // First Ctrl-C: finish the iteration and stop cleanly; second: exit at once.
        const abort = new AbortController();
        process.once('SIGINT', () => {
          console.error('\nstopping after this iteration (Ctrl-C again to quit now)');
          abort.abort();
          process.once('SIGINT', () => process.exit(130));
        });
        process.once('SIGTERM', () => abort.abort());
        await train(config, { runDir: args['run-dir'], resume, signal: abort.signal });
      },
    )
    .command(
      'evaluate',
      "score a checkpoint's policy",
      (y) =>
        y
          .option('checkpoint', { type: 'string', demandOption: true, describe: 'a checkpoint dir, or a run dir (its latest checkpoint)' })
          .option('episodes', { type: 'number', default: 100, describe: 'episodes to run' })
          .option('seed', { type: 'number', default: 0, describe: 'seeds the envs (and sampling with --stochastic)' })
          .option('stochastic', { type: 'boolean', default: false, describe: 'sample actions instead of the greedy ones' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
      async (args) => {
        const result = await evaluateCheckpoint(resolveCheckpoint(args.checkpoint), args);
        if (args.json) console.log(JSON.stringify(result));
      },
    )
    .command(
      'info <path>',
      'what a run dir or a checkpoint is',
      (y) => y.positional('path', { type: 'string', demandOption: true, describe: 'a run dir or a checkpoint dir' }),
      (args) => console.log(describeRun(args.path)),
    )
    .command(
      'envs',
      'list the registered environments',
      (y) => y,
      () => {
        const rows = listEnvs().map((spec) => {
          const env = makeEnv(spec.id);
          const row = [spec.id, `obs ${env.observationSpace}`, `actions ${env.actionSpace}`, `max steps ${spec.maxEpisodeSteps ?? '-'}`, `solved at ${spec.rewardThreshold ?? '-'}`];
          env.close();
          return row;
        });
        const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
        for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
      },
    )
    .demandCommand(1, 'name a command: train, evaluate, info, envs (rl --help)')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      throw new ConfigError(msg);
    })
    .help()
    .parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => {
  if (err instanceof RlError) {
    console.error(`error: ${err.message}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(1);
});
