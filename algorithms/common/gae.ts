/**
 * Generalised advantage estimation over `length` steps of `numEnvs` envs, time-major.
 *
 * `nextValues[i]` is V of the state that followed step i: the next row's value inside an
 * episode, the value of the final observation where the episode was truncated, and of the
 * bootstrap observation after the batch's last step. A terminated step bootstraps nothing;
 * a terminated or truncated step starts a new chain of advantages.
 */
export function computeGae(p: {
  rewards: Float32Array;
  values: Float32Array;
  nextValues: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  numEnvs: number;
  length: number;
  gamma: number;
  lambda: number;
}): { advantages: Float32Array; returns: Float32Array } {
  const { rewards, values, nextValues, terminated, truncated, numEnvs, length, gamma, lambda } = p;
  const advantages = new Float32Array(numEnvs * length);
  const returns = new Float32Array(numEnvs * length);
  for (let n = 0; n < numEnvs; n++) {
    let next = 0; // the advantage of the following step in the same episode
    for (let t = length - 1; t >= 0; t--) {
      const i = t * numEnvs + n;
      const bootstrap = terminated[i] ? 0 : gamma * nextValues[i];
      const delta = rewards[i] + bootstrap - values[i];
      const continues = terminated[i] || truncated[i] || t === length - 1 ? 0 : 1;
      next = delta + gamma * lambda * continues * next;
      advantages[i] = next;
      returns[i] = next + values[i];
    }
  }
  return { advantages, returns };
}
