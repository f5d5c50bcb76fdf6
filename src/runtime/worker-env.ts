import { isShippedModule, moduleEnvId, registerShippedModule } from '../env-loader';
import { CodeCache, defaultCacheDir, loadShippedModule } from '../env-code/cache';
import { envSource, type CodePolicy } from '../env-code/source';
import type { WorkerSetup } from '../transport/protocol';

/** Shipped env code a worker asked its learner for, by sha256, and the export it names. */
export interface AskedCode {
  sha256: string;
  exportName: string;
}

/** An env `ready` to build under `envId` (`how` says from where, for the log), or a refusal in one line. */
export type EnvOutcome = { kind: 'ready'; envId: string; how: string } | { kind: 'refuse'; reason: string };

/** Where a learner's env comes from on this worker: an outcome, or code to `ask` the learner for. */
export type EnvResolution = EnvOutcome | { kind: 'ask'; code: AskedCode };

/**
 * A worker's side of env code: the rule of `envSource` (registered, a local file, or shipped
 * code), the cache of shipped bundles by sha256, and loading a bundle once per process.
 */
export class WorkerEnvCode {
  private store: CodeCache | null = null;

  constructor(
    private readonly policy: CodePolicy,
    private readonly cacheDir?: string,
  ) {}

  resolve(setup: WorkerSetup): EnvResolution {
    const source = envSource(setup, this.policy);
    if (source.kind === 'refuse') return source;
    if (source.kind !== 'shipped') return { kind: 'ready', envId: source.envId, how: source.kind === 'local' ? 'code from this machine' : 'registered env' };
    const code = { sha256: source.code.sha256, exportName: source.exportName };
    const cached = this.cache().read(code.sha256);
    return cached ? this.load(code, cached, 'cached') : { kind: 'ask', code };
  }

  /** The code asked for has come: stored (the cache checks the sha256 of the bytes), then loaded. */
  received(code: AskedCode, source: Buffer): EnvOutcome {
    try {
      this.cache().write(code.sha256, source);
    } catch (err) {
      return { kind: 'refuse', reason: `the shipped env code failed its check: ${(err as Error).message}` };
    }
    return this.load(code, source, 'received');
  }

  private load(code: AskedCode, source: Buffer, how: 'cached' | 'received'): EnvOutcome {
    const file = this.cache().file(code.sha256);
    try {
      // Run once per process: the same sha256 is the same module (one that calls registerEnv must not run twice).
      if (!isShippedModule(file)) registerShippedModule(file, loadShippedModule(source, file));
    } catch (err) {
      return { kind: 'refuse', reason: (err as Error).message };
    }
    return { kind: 'ready', envId: moduleEnvId(file, code.exportName), how: `code sha256 ${code.sha256.slice(0, 12)} (shipped, ${how})` };
  }

  private cache(): CodeCache {
    return (this.store ??= new CodeCache(this.cacheDir ?? defaultCacheDir()));
  }
}
