/**
 * Errors that are the user's to fix: the CLI prints their message as one line and exits
 * with `exitCode`. Anything else is a bug and prints its stack.
 */
export class RlError extends Error {
  /** The CLI's exit status for it: 1, or 2 for the user's input (a config, a flag, a checkpoint file). */
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config file or `--set` override that breaks a rule; names the file, key, value and rule. */
export class ConfigError extends RlError {
  /** 2: the user's input. */
  override readonly exitCode = 2;
}

/**
 * An environment that breaks its own contract (spaces, return shapes, non-finite values), that
 * throws while stepping, or an unknown env id. `step` (1-based, counted per env since it was
 * made) and `field` (`reward`, `obs`, ...) say where, for whoever reports it without parsing the text.
 */
export class EnvError extends RlError {
  /** The env's step (1-based, counted since it was made) where it broke the contract; absent: not at a step. */
  readonly step?: number;
  /** What broke it: `reward`, `obs`, `terminated`, `actionMask`, `threw` (it threw), ... */
  readonly field?: string;
  constructor(message: string, where: { step?: number; field?: string; cause?: unknown } = {}) {
    super(message);
    if (where.step !== undefined) this.step = where.step;
    if (where.field !== undefined) this.field = where.field;
    if (where.cause !== undefined) this.cause = where.cause;
  }
}

/** A message between learner and workers that cannot be accepted. */
export class ProtocolError extends RlError {}

/** A checkpoint that cannot be written or read. */
export class CheckpointError extends RlError {}

/** Training that cannot go on soundly: non-finite weights or losses (a diverged update). Names where. */
export class TrainingError extends RlError {}

/**
 * Training produced a number that is not finite (a NaN reward or observation, a diverging
 * loss): the gradient step that would have applied it is refused, so the weights and the
 * optimizer's moments stay as they were before it. Names the algorithm, the quantity and where.
 */
export class NonFiniteError extends TrainingError {
  constructor(
    readonly algorithm: string,
    readonly quantity: string,
    readonly value: number,
    readonly where: string,
  ) {
    super(`${algorithm}: the ${quantity} is ${value} in ${where}; the step was not applied (a reward or observation that is not finite, or a loss that diverged: check the env, lower the learning rate)`);
  }
}

/**
 * A checkpoint that cannot be read as one: damaged, edited or crafted, of another kind than its
 * metadata says, or of a newer format. The user's input (a file they were given): exit 2.
 */
export class BadCheckpointError extends CheckpointError {
  /** 2: the user's input (a file they were given). */
  override readonly exitCode = 2;
}
