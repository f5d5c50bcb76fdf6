import * as fs from 'node:fs';
import { ConfigError, RlError } from '../../core/errors';
import { checkResumable } from '../commands';
import { resumeFrom } from '../checkpoint';
import { loadConfig } from '../config/load';
import { runDirProblem } from '../run-dir';
import { train } from '../runtime/learner';

/**
 * One trial in this process, as `rl train --config CONFIG --run-dir RUN_DIR --resume auto` runs
 * it in its own: what it says appended to `logFile` (an error as `error: MESSAGE`, as the CLI
 * prints it), `signal` its SIGTERM (it ends after its iteration, with a checkpoint). Resolves
 * with the exit code the command would have had: 0, 2 for the user's input (a ConfigError), 1
 * for the rest; a bug is written with its stack, exit code 1.
 */
export async function runTrialInProcess(configFile: string, runDir: string, logFile: string, signal: AbortSignal): Promise<number> {
  const fd = fs.openSync(logFile, 'a');
  const log = (line: string) => fs.writeSync(fd, `${line}\n`);
  try {
    const resume = resumeFrom('auto', runDir, log);
    const config = loadConfig(configFile);
    if (resume) checkResumable(resume, config);
    const replaceLeftovers = !resume;
    const taken = runDirProblem(runDir, { resume, replaceLeftovers });
    if (taken) throw new ConfigError(taken);
    await train(config, { runDir, resume, replaceLeftovers, signal, log });
    return 0;
  } catch (err) {
    if (err instanceof RlError) {
      log(`error: ${err.message}`);
      return err.exitCode;
    }
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  } finally {
    fs.closeSync(fd);
  }
}
