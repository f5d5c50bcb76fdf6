import type { GreedyPath, NamedTensor } from '../../core/algorithm';

/**
 * DQN's greedy path: the Q-network's body and its head. A dueling head, Q = V + A - mean(A),
 * is linear in the body's output, so it folds into one layer:
 * W_q = W_a - mean_j(W_a) + w_v, and the same for the bias.
 */
export function dqnGreedyPath(weight: (name: string) => NamedTensor, has: (name: string) => boolean): GreedyPath {
  if (!has('q/value/w')) {
    const w = weight('q/out/w');
    return { body: 'q', head: { kind: 'q', inputs: w.shape[0], outputs: w.shape[1], w: w.data, b: weight('q/out/b').data } };
  }
  const aw = weight('q/advantage/w');
  const ab = weight('q/advantage/b').data;
  const vw = weight('q/value/w').data;
  const vb = weight('q/value/b').data;
  const [inputs, n] = aw.shape;
  const w = new Float32Array(inputs * n);
  for (let i = 0; i < inputs; i++) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += aw.data[i * n + j];
    mean /= n;
    for (let j = 0; j < n; j++) w[i * n + j] = aw.data[i * n + j] - mean + vw[i];
  }
  const meanB = ab.reduce((s, x) => s + x, 0) / n;
  return { body: 'q', head: { kind: 'q', inputs, outputs: n, w, b: Float32Array.from(ab, (x) => x - meanB + vb[0]) } };
}
