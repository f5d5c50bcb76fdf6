/**
 * Errors that are the user's to fix: the CLI prints their message as one line and exits
 * with `exitCode`. Anything else is a bug and prints its stack.
 */
export class RlError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config file or `--set` override that breaks a rule; names the file, key, value and rule. */
export class ConfigError extends RlError {
  override readonly exitCode = 2;
}

/** An environment that breaks its own contract (spaces, return shapes), or an unknown env id. */
export class EnvError extends RlError {}

/** A message between learner and workers that cannot be accepted. */
export class ProtocolError extends RlError {}

/** A checkpoint that cannot be written or read. */
export class CheckpointError extends RlError {}

/** Training that cannot go on soundly: non-finite weights (a diverged update). Names the iteration. */
export class TrainingError extends RlError {}
