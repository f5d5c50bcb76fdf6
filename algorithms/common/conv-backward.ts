import * as tf from '@tensorflow/tfjs';
import type { ConvPlan } from './conv';

/**
 * A conv layer's gradients as forward convolutions. tfjs' wasm backend registers Conv2D
 * (XNNPACK) but no Conv2DBackpropFilter, and its Conv2DBackpropInput is a plain loop; measured
 * on wasm (32 x Nature CNN layers, ms, forward / tfjs' dx / this dx / this dW):
 * 84x84x4 8x8/4: 10.5 / - / - / 10.8; 20x20x32 4x4/2: 7.3 / 115 / see bench / 20;
 * 9x9x64 3x3/1: 5.2 / 54 / ~5 / 6.7. Both are exact (the same sums, in another order).
 *
 * With the layer y[oy, ox] = sum_{ky, kx} x[oy s + ky - padBefore, ox s + kx - padBefore] W[ky, kx]
 * (channels summed too), and dz the gradient by its output before the bias:
 *
 * dW[ky, kx, c, f] = sum_{b, oy, ox} x[b, oy s + ky, ox s + kx, c] dz[b, oy, ox, f]: a conv of x
 *   with the batch as channels ([c, h, w, b]) by dz as the filter ([oh, ow, b, f]) dilated by s.
 * dx = a stride-1 conv of dz, with s - 1 zeros put between its pixels and k - 1 - padBefore
 *   around, by W turned 180 degrees with its in and out channels swapped.
 */

/** dLoss/dW [k, k, c, f] of a layer with input `x` [b, h, w, c], given `dz` [b, oh, ow, f]. */
export function convFilterGrad(x: tf.Tensor4D, dz: tf.Tensor4D, l: ConvPlan): tf.Tensor4D {
  const { kernel: k, stride: s } = l.layer;
  let xs = x;
  if (l.rows.padBefore + l.rows.padAfter + l.cols.padBefore + l.cols.padAfter > 0) {
    xs = tf.pad(x, [[0, 0], [l.rows.padBefore, l.rows.padAfter], [l.cols.padBefore, l.cols.padAfter], [0, 0]]);
  }
  const xt = tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D; // [c, h, w, b]
  const dt = tf.transpose(dz, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, b, f]
  let g = tf.conv2d(xt, dt, 1, 'valid', 'NHWC', s); // [c, >= k, >= k, f]
  if (g.shape[1] !== k || g.shape[2] !== k) g = tf.slice(g, [0, 0, 0, 0], [-1, k, k, -1]);
  return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
}

/** dLoss/dx [b, h, w, c] of a layer with filter `filter` [k, k, c, f], given `dz` [b, oh, ow, f]. */
export function convInputGrad(dz: tf.Tensor4D, filter: tf.Tensor4D, l: ConvPlan): tf.Tensor4D {
  const { kernel: k, stride: s } = l.layer;
  const [b, oh, ow, f] = dz.shape;
  let d: tf.Tensor4D = dz;
  if (s > 1) {
    // s - 1 zeros after each pixel, down then across: [b, oh s, ow s, f].
    const zeros = tf.zeros([b, oh, s - 1, ow, f]);
    d = tf.reshape(tf.concat([tf.reshape(d, [b, oh, 1, ow, f]), zeros], 2), [b, oh * s, ow, f]);
    const zc = tf.zeros([b, oh * s, ow, s - 1, f]);
    d = tf.reshape(tf.concat([tf.reshape(d, [b, oh * s, ow, 1, f]), zc], 3), [b, oh * s, ow * s, f]);
  }
  // Around it, k - 1 - padBefore before and what makes h + k - 1 after (a negative count crops).
  const [h, w] = l.input;
  const pads = [
    [k - 1 - l.rows.padBefore, h + l.rows.padBefore - oh * s],
    [k - 1 - l.cols.padBefore, w + l.cols.padBefore - ow * s],
  ];
  const crop = pads.map(([, after]) => Math.min(0, after));
  if (crop[0] < 0 || crop[1] < 0) d = tf.slice(d, [0, 0, 0, 0], [b, oh * s + crop[0], ow * s + crop[1], f]);
  d = tf.pad(d, [[0, 0], [pads[0][0], Math.max(0, pads[0][1])], [pads[1][0], Math.max(0, pads[1][1])], [0, 0]]);
  const turned = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [k, k, f, c]
  return tf.conv2d(d, turned, 1, 'valid');
}
