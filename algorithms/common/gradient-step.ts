import * as tf from '@tensorflow/tfjs';
import type { FlatParams } from './flat-params';
import { applyGradients, clipByGlobalNorm, refuseNonFinite, type StepPlace } from './optimizer';

/**
 * One gradient step, the same for every algorithm: the loss and its metrics, the gradient
 * (tfjs' tape, or a written-out one the algorithm hands in), clipped by global norm; the
 * numbers read back in one read; a step whose numbers are not finite refused before anything
 * is applied; then the optimizer's step. An algorithm states its loss once, as a `LossFn`.
 */

/**
 * How a step differentiates its loss: `tape`, tfjs' autodiff of the loss (the default, and the
 * truth); `writtenOut`, the algorithm's gradient written out by hand (MLPs only), the same
 * numbers in fewer kernels (`node dist/bench/run.js grad-paths` measures both).
 */
export const gradientPaths = ['tape', 'writtenOut'] as const;
export type GradientPath = (typeof gradientPaths)[number];

/**
 * What a loss gives on a minibatch: the scalar to differentiate, the metrics to log (scalars,
 * by the names they are logged under), and numbers per row the caller needs back (DQN's TD
 * errors, for the priorities).
 */
export interface LossOutput<M extends string, R extends string = never> {
  loss: tf.Scalar;
  metrics: Record<M, tf.Scalar>;
  rows?: Record<R, tf.Tensor>;
}

/** A loss of the model's parameters (unpacked, as named tensors); the minibatch is closed over. */
export type LossFn<M extends string, R extends string = never> = (p: Record<string, tf.Tensor>) => LossOutput<M, R>;

/** A loss's output and its flat gradient, by the model's FlatParams layout. */
export interface Gradient<M extends string, R extends string = never> extends LossOutput<M, R> {
  grad: tf.Tensor;
}

/** The step's numbers, read back: the metrics, and the rows the loss gave. */
export interface StepResult<M extends string, R extends string = never> {
  metrics: Record<M, number>;
  rows: Record<R, Float32Array>;
}

/**
 * The loss and its gradient through tfjs' tape. The loss, metrics and rows are kept out of the
 * tape's scope (`tf.keep`), so no tidy frees them: the caller disposes them (gradientStep does).
 */
export function tapeGradient<M extends string, R extends string = never>(lossFn: LossFn<M, R>, params: FlatParams): Gradient<M, R> {
  const theta = params.variable;
  let out: LossOutput<M, R> | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const o = lossFn(params.unpack());
    out = { loss: o.loss, metrics: keepAll(o.metrics), rows: o.rows && keepAll(o.rows) };
    return o.loss;
  }, [theta]);
  return { ...out!, loss: value, grad: grads[theta.name] };
}

/**
 * One step of `lossFn` on `params`: its gradient through the tape (or `writtenOut()`'s, the
 * same loss's gradient written out), clipped to global norm `clip`, applied by `optimizer`.
 * The metrics, the loss, the rows and the gradient norm come back in one read, before the
 * gradient is applied: one that is not finite refuses the step (NonFiniteError, naming
 * `place`, the metric in words, e.g. "policy loss", or "loss", or "gradient norm") with nothing
 * changed. Leaves no tensor behind, refused or not.
 */
export function gradientStep<M extends string, R extends string = never>(
  lossFn: LossFn<M, R>,
  params: FlatParams,
  optimizer: tf.Optimizer,
  clip: number,
  place: StepPlace,
  writtenOut?: () => Gradient<M, R>,
): StepResult<M, R> {
  let result: StepResult<M, R> | undefined;
  let step: tf.NamedTensorMap | undefined;
  tf.tidy(() => {
    const g = writtenOut ? writtenOut() : tapeGradient(lossFn, params);
    try {
      const { clipped, norm } = clipByGlobalNorm({ [params.variable.name]: g.grad }, clip);
      const metricNames = Object.keys(g.metrics) as M[];
      const rowNames = Object.keys(g.rows ?? {}) as R[];
      const rowTensors = rowNames.map((k) => tf.reshape(g.rows![k], [-1]));
      const v = tf.concat([...metricNames.map((k) => tf.reshape(g.metrics[k], [1])), tf.reshape(g.loss, [1]), tf.reshape(norm, [1]), ...rowTensors]).dataSync() as Float32Array;
      const metrics = Object.fromEntries(metricNames.map((k, i) => [k, v[i]])) as Record<M, number>;
      const m = metricNames.length;
      refuseNonFinite(place, { ...Object.fromEntries(metricNames.map((k) => [inWords(k), metrics[k]])), loss: v[m], 'gradient norm': v[m + 1] });
      const rows = {} as Record<R, Float32Array>;
      let at = m + 2;
      rowNames.forEach((k, i) => {
        const n = rowTensors[i].size;
        rows[k] = v.slice(at, at + n);
        at += n;
      });
      step = keepAll(clipped);
      result = { metrics, rows };
    } finally {
      tf.dispose([g.loss, ...Object.values<tf.Tensor>(g.metrics), ...Object.values<tf.Tensor>(g.rows ?? {})]); // kept by the tape path
    }
  });
  // The optimizer's step once the step's temporaries are freed: its new moments and parameters
  // then reuse their memory. Applied inside the scope above, every step placed them past the
  // temporaries, and the wasm heap grew without bound (about 0.5 MB a PPO CartPole iteration
  // on the written-out path, numTensors constant).
  try {
    applyGradients(optimizer, step!);
  } finally {
    tf.dispose(Object.values(step!));
  }
  return result!;
}

function keepAll<T extends Record<string, tf.Tensor>>(tensors: T): T {
  for (const t of Object.values<tf.Tensor>(tensors)) tf.keep(t);
  return tensors;
}

/** A metric's name as the refusal says it: policyLoss -> "policy loss". */
function inWords(name: string): string {
  return name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}
