import * as tf from '@tensorflow/tfjs';

/**
 * tfjs' Adam (the same update, state and checkpoint layout: `getWeights`, the moments
 * `${name}/m` and `/v`, the running beta powers), applied in one pass over each parameter on the
 * wasm backend: a loop over the parameters, moments and gradient where they lie in the wasm
 * heap, in place of tfjs' 13 kernels per variable, each a pass over memory (measured, CPU time
 * per step: 148,805 parameters 1.78 -> see the compute bench; 1,687,719 (the Nature CNN) 12.5 ms).
 *
 * In place only where the parameter and its moments hold their memory alone (no other tensor
 * shares it, which tfjs' reshape and variable() can arrange); otherwise, and on other
 * backends, tfjs' own step. The numbers are tfjs' to float32 rounding (the loop computes in
 * float64 and stores float32).
 */
export class FusedAdam extends tf.AdamOptimizer {
  applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const heap = wasmHeap();
    if (!heap || Array.isArray(variableGradients)) return super.applyGradients(variableGradients);
    const names = Object.keys(variableGradients);
    const self = this as unknown as Moments;
    const powers = [self.accBeta1, self.accBeta2];
    const vars = names.map((name, i) => {
      const value = tf.engine().registeredVariables[name];
      self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      return { value, m: self.accumulatedFirstMoment[i].variable, v: self.accumulatedSecondMoment[i].variable, g: variableGradients[name] };
    });
    if (!vars.every(({ value, m, v, g }) => [value, m, v, g].every((t) => t.dtype === 'float32') && [value, m, v].every((t) => heap.owns(t)))) {
      return super.applyGradients(variableGradients);
    }
    const [a1, a2] = powers.map((acc) => 1 - acc.dataSync()[0]);
    const { beta1: b1, beta2: b2, epsilon: eps } = this as unknown as { beta1: number; beta2: number; epsilon: number };
    const lr = (this as unknown as { learningRate: number }).learningRate;
    for (const t of vars) {
      const g = heap.view(t.g); // after every allocation above: views of the heap as it is now
      const p = heap.view(t.value);
      const m = heap.view(t.m);
      const v = heap.view(t.v);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = m[i] * b1 + gi * (1 - b1);
        const vi = v[i] * b2 + gi * gi * (1 - b2);
        m[i] = mi;
        v[i] = vi;
        p[i] += -lr * ((mi / a1) / (Math.sqrt(vi / a2) + eps));
      }
    }
    tf.tidy(() => powers.forEach((acc, i) => acc.assign(tf.mul(acc, i === 0 ? b1 : b2))));
    this.incrementIterations();
  }
}

interface Moments {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/** The active backend's heap, when it is wasm: a tensor's memory as a Float32Array view, and whether the tensor alone holds it. */
function wasmHeap(): { view: (t: tf.Tensor) => Float32Array; owns: (t: tf.Tensor) => boolean } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as { typedArrayFromHeap(t: tf.Tensor): Float32Array; dataIdMap: { get(id: object): { refCount: number } | undefined } };
  return {
    view: (t) => backend.typedArrayFromHeap(t),
    owns: (t) => backend.dataIdMap.get(t.dataId)?.refCount === 1,
  };
}
