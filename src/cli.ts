#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { listEnvs, makeEnv } from '../envs';
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
          .option('config', { type: 'string', demandOption: true, describe: 'YAML config file' })
          .option('set', { type: 'string', array: true, default: [], describe: 'override a key: --set ppo.lr=0.001' })
          .option('run-dir', { type: 'string', describe: 'where the run goes (default runs/<name>-<timestamp>)' })
          .option('seed', { type: 'number', describe: 'overrides the config seed' }),
      async (args) => {
        const overrides = [...args.set];
        if (args.seed !== undefined) overrides.push(`seed=${args.seed}`);
        const config = loadConfig(args.config, overrides);
        // First Ctrl-C: finish the iteration and stop cleanly; second: exit at once.
        const abort = new AbortController();
        process.once('SIGINT', () => {
          console.error('\nstopping after this iteration (Ctrl-C again to quit now)');
          abort.abort();
          process.once('SIGINT', () => process.exit(130));
        });
        process.once('SIGTERM', () => abort.abort());
        await train(config, { runDir: args['run-dir'], signal: abort.signal });
      },
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
    .demandCommand(1, 'name a command: rl train --config FILE, rl envs')
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
