import type { PolicyContext, PolicySpec, SamplingPolicy } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import type { ForwardEngine } from '../../core/forward';
import { loadOnnxEngine } from './onnx-forward';

/**
 * `workers.inference` (and `rl worker --inference`): which engine runs a sampling policy's
 * forward pass. `auto`: onnxruntime where onnxruntime-node loads and the policy's network is
 * one it runs, tfjs otherwise; `tfjs`; `onnx`: onnxruntime or an error.
 */
export const INFERENCE_CHOICES = ['auto', 'tfjs', 'onnx'] as const;
export type InferenceChoice = (typeof INFERENCE_CHOICES)[number];

/** The engine to offer policies for `choice` (undefined: tfjs); loads onnxruntime once. `onnx` where it does not load: a ConfigError. */
export async function inferenceEngine(choice: InferenceChoice, log: (line: string) => void): Promise<ForwardEngine | undefined> {
  if (choice === 'tfjs') return undefined;
  const loaded = await loadOnnxEngine();
  if (loaded.engine) return loaded.engine;
  if (choice === 'onnx') throw new ConfigError(`workers.inference (onnx): ${loaded.why}; install it (npm install onnxruntime-node) or use auto or tfjs`);
  log(`inference: tfjs (${loaded.why})`);
  return undefined;
}

/**
 * A sampling policy from `create` offered `engine`; with `onnx`, one that fell back to tfjs
 * (its network, or an algorithm whose policies run on tfjs only) is a ConfigError. `auto`
 * says a fallback in one line.
 */
export function policyOn(choice: InferenceChoice, engine: ForwardEngine | undefined, spec: PolicySpec, ctx: Omit<PolicyContext, 'engine'>, create: (spec: PolicySpec, ctx: PolicyContext) => SamplingPolicy, log: (line: string) => void): SamplingPolicy {
  const policy = create(spec, { ...ctx, engine });
  if (!engine || policy.engine === engine.name) return policy;
  const why = policy.fallback ?? `the ${spec.algorithm} policy runs on tfjs only`;
  if (choice === 'onnx') {
    policy.dispose();
    throw new ConfigError(`workers.inference (onnx): ${why}; use auto or tfjs`);
  }
  log(`inference: tfjs (${why})`);
  return policy;
}
