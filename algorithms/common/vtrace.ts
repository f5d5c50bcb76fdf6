/**
 * V-trace targets (Espeholt et al. 2018, "IMPALA", section 4.1) over `length` steps of
 * `numEnvs` envs, time-major (row `t * numEnvs + n`), computed backwards per segment of one
 * episode within the batch:
 *
 *   rho_t  = min(rhoBar, pi(a_t|x_t) / mu(a_t|x_t))        (mu: the behaviour policy that acted)
 *   c_t    = lambda * min(cBar, pi(a_t|x_t) / mu(a_t|x_t))
 *   delta_t = rho_t (r_t + gamma V(x_{t+1}) - V(x_t))
 *   v_t    = V(x_t) + delta_t + gamma c_t (v_{t+1} - V(x_{t+1}))
 *   pgAdvantage_t = min(pgRhoBar, pi/mu) (r_t + gamma v_{t+1} - V(x_t))
 *
 * `nextValues[i]` is V of the state that followed step i, as `computeGae` takes it: the next
 * row's value inside an episode, V(final observation) where the episode was truncated, and
 * V(bootstrap observation) after the batch's last step. A segment ends at a terminated step
 * (nothing is bootstrapped past it), at a truncated one and at the batch's end (where v_{t+1}
 * is that bootstrap value: no correction is known beyond it). With pi = mu (every ratio 1),
 * rhoBar, cBar >= 1 and lambda = 1, v_t is the n-step return to the segment's end and the
 * advantage is GAE's with lambda = 1.
 *
 * DeepMind's scalable_agent `vtrace.from_importance_weights` and RLlib's `vtrace` compute the
 * same with discounts gamma (1 - done) and one bootstrap value per segment of T steps; they
 * know no truncation, and clip c_t at 1 (cBar = 1, lambda = 1).
 */
export interface VtraceInput {
  rewards: Float32Array;
  /** V(x_t) under the value function being trained: [length * numEnvs]. */
  values: Float32Array;
  /** V of the state after each step (see above): [length * numEnvs]. */
  nextValues: Float32Array;
  /** log pi(a_t|x_t) - log mu(a_t|x_t), target policy over behaviour policy: [length * numEnvs]. */
  logRhos: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  numEnvs: number;
  length: number;
  gamma: number;
  /** Clip of the importance weights in the value targets (rho-bar). */
  rhoBar: number;
  /** Clip of the trace coefficients (c-bar). */
  cBar: number;
  /** Clip of the importance weights in the policy-gradient advantage; default rhoBar. */
  pgRhoBar?: number;
  /** The paper's lambda (section 4.1, remark 5): c_t = lambda min(cBar, ratio); default 1. */
  lambda?: number;
}

/** The value targets v_t and the policy-gradient advantages, [length * numEnvs] each; and the mean clipped rho (how off-policy the batch was). */
export interface VtraceOutput {
  vs: Float32Array;
  pgAdvantages: Float32Array;
  /** Mean of min(rhoBar, pi/mu) over the rows. */
  meanRho: number;
}

export function vtrace(p: VtraceInput): VtraceOutput {
  const { rewards, values, nextValues, logRhos, terminated, truncated, numEnvs, length, gamma, rhoBar, cBar } = p;
  const pgRhoBar = p.pgRhoBar ?? rhoBar;
  const lambda = p.lambda ?? 1;
  const rows = numEnvs * length;
  const vs = new Float32Array(rows);
  const pgAdvantages = new Float32Array(rows);
  let rhoSum = 0;
  for (let n = 0; n < numEnvs; n++) {
    let carry = 0; // v_{t+1} - V(x_{t+1}) of the following step in the same segment
    let vsNext = 0; // v_{t+1} of the following step in the same segment
    for (let t = length - 1; t >= 0; t--) {
      const i = t * numEnvs + n;
      const ratio = Math.exp(logRhos[i]);
      const rho = Math.min(rhoBar, ratio);
      rhoSum += rho;
      const discount = terminated[i] ? 0 : gamma;
      const continues = !(terminated[i] || truncated[i] || t === length - 1);
      const delta = rho * (rewards[i] + discount * nextValues[i] - values[i]);
      carry = delta + (continues ? gamma * lambda * Math.min(cBar, ratio) * carry : 0);
      const next = continues ? vsNext : nextValues[i]; // v_{t+1}: the bootstrap value where the segment ends
      vs[i] = values[i] + carry;
      pgAdvantages[i] = Math.min(pgRhoBar, ratio) * (rewards[i] + discount * next - values[i]);
      vsNext = vs[i];
    }
  }
  return { vs, pgAdvantages, meanRho: rows > 0 ? rhoSum / rows : 0 };
}
