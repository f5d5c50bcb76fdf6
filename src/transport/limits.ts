/**
 * The sizes the learner accepts in a trajectory batch. The pool checks every batch against
 * them (see `BatchExpectation`), and the config schema caps `workers.envsPerWorker` and
 * `workers.rolloutLength` with the same numbers, so a config that validates never has its
 * batches rejected.
 */
export const MAX_BATCH_ENVS = 4096;
export const MAX_BATCH_LENGTH = 65536;
/** Steps in one batch (envs x rolloutLength): what a worker holds and sends at once. */
export const MAX_BATCH_STEPS = 1 << 20;
/** The largest env-code bundle the learner ships to workers (and a worker accepts): 8 MiB. */
export const MAX_ENV_CODE_BYTES = 8 * 1024 * 1024;
