/**
 * Checkpoints, in one folder:
 *   format.ts      the on-disk format: writing (atomic, checksummed) and the one load path
 *   migrate.ts     a step per format change, applied as a checkpoint is read
 *   fit.ts         a resumed checkpoint's tensors against the model, by exact shape
 *   catalog.ts     a run's checkpoints: which one a command takes, the best, pruning a branch
 *   best.ts        checkpoints/best/, replaced kill-safely
 *   resume.ts      the entry point of resuming: what from (auto-resume.ts for --resume auto), and
 *                  whether the run is finished already (stop-met.ts)
 *   env-trust.ts   the trust rule for env code that a checkpoint or a run dir names
 */
export * from './format';
export * from './catalog';
export * from './best';
export * from './auto-resume';
export * from './stop-met';
export * from './resume';
export { checkTensorsFit } from './fit';
export { MIGRATIONS, migrate, type MigrationStep } from './migrate';
export { trustedSourceEnvId, trustSourceEnv, type EnvSource } from './env-trust';
