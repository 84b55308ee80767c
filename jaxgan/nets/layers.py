"""Shared layers: convolutions that XLA runs fast on every backend.

On XLA:CPU the gradients of convolutions take paths several times slower than matrix products
of the same size (the weight gradient of `lax.conv_transpose`, what `nn.ConvTranspose` calls,
tens of times). `matmul_conv` computes a convolution as one matrix product over shifted slices,
and `PhaseConvTranspose` a transposed convolution as one stride-1 convolution (the sub-pixel
phase decomposition), so both passes are ordinary matrix products. `conv_for_backend` picks
`matmul_conv` on CPU and XLA's own convolution on GPU and TPU, where it is fast. Also what
several networks and pieces share: the minibatch standard deviation of StyleGAN2's and PGGAN's
discriminators, and `upfirdn2d`, the FIR resampling of StyleGAN2's layers and of ADA's pipeline.
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

from jaxgan.nets import winograd

NHWC_HWIO = ('NHWC', 'HWIO', 'NHWC')


def matmul_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                dimension_numbers=None, feature_group_count=1, precision=None, **kwargs):
  """`lax.conv_general_dilated` for NHWC inputs and HWIO kernels, as one matrix product.

  A drop-in `conv_general_dilated` for `nn.Conv`. It multiplies the input's k x k patches by
  the flattened kernel (im2col); at stride 1 with fewer output than input channels, where the
  patches would be the larger array, it multiplies every input pixel by all k * k taps instead
  and sums the taps' shifted outputs. Products accumulate in float32 (`precision` is not
  needed for that). Other layouts, dilations and groups go to XLA's convolution.
  """
  plain = (lhs.ndim == 4 and feature_group_count == 1
           and all(d in (None, 1) for d in (*(lhs_dilation or ()), *(rhs_dilation or ())))
           and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
           == lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC_HWIO))
  if not plain:
    return lax.conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
        feature_group_count, precision=precision, **kwargs)
  k_h, k_w, c_in, c_out = rhs.shape
  if isinstance(padding, str):
    padding = lax.padtype_to_pads(lhs.shape[1:3], (k_h, k_w), window_strides, padding)
  padding = tuple(tuple(int(p) for p in pair) for pair in padding)
  if tuple(window_strides) == (1, 1) and c_out < c_in:
    return _tap_sum_conv(lhs, rhs, padding)
  patches = _patches(lhs, (k_h, k_w), tuple(window_strides), padding, lhs.shape[1:3])
  n, out_h, out_w, _ = patches.shape
  flat = _matmul(patches.reshape(-1, k_h * k_w * c_in), rhs.reshape(k_h * k_w * c_in, c_out))
  return flat.reshape(n, out_h, out_w, c_out)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3, 4))
def _patches(x, window, strides, padding, size):
  """The `window` patches of `x` (of spatial `size`) at `strides` after `padding`, as
  `[n, out_h, out_w, k_h * k_w * c]` in the flattened HWIO kernel's order (im2col).

  The VJP (col2im) is written out. Autodiff's pads each tap's cotangent to the input's size, with
  holes between its pixels at stride 2, and adds the k_h * k_w of them in one pass that reads
  every tap for every pixel and, in bfloat16, rounds every partial sum (`dcgan32`'s step,
  `benchmarks/profile_step.py`: 54 of 350 ms in float32, 148 of 634 ms in bfloat16). Here the
  taps are grouped by phase (tap index modulo the stride): within a phase they are plain shifts of
  one another, added in float32; the phases are then interleaved once.
  """
  k_h, k_w = window
  s_h, s_w = strides
  x = jnp.pad(x, ((0, 0), *padding, (0, 0)))
  n, h, w, _ = x.shape
  out_h, out_w = (h - k_h) // s_h + 1, (w - k_w) // s_w + 1
  return jnp.concatenate(
      [x[:, i:i + s_h * (out_h - 1) + 1:s_h, j:j + s_w * (out_w - 1) + 1:s_w]
       for i in range(k_h) for j in range(k_w)], axis=-1)


def _patches_fwd(x, window, strides, padding, size):
  return _patches(x, window, strides, padding, size), None


def _patches_bwd(window, strides, padding, size, _, d_patches):
  (k_h, k_w), (s_h, s_w), ((top, _), (left, _)), (h, w) = window, strides, padding, size
  n, out_h, out_w, _ = d_patches.shape
  d_tap = d_patches.reshape(n, out_h, out_w, k_h, k_w, -1).astype(jnp.float32)
  # Tap (i, j) of output (o, p) read the padded input's pixel (s_h * o + i, s_w * p + j). With
  # i = s_h * q + r, that is row o + q of phase r (the padded rows r, r + s_h, ...).
  q_h, q_w = -(-k_h // s_h), -(-k_w // s_w)  # taps per phase, at most
  rows, cols = out_h + q_h - 1, out_w + q_w - 1
  zeros = jnp.zeros((n, rows, cols, d_tap.shape[-1]), jnp.float32)  # a phase without taps
  phases = [[sum((jnp.pad(d_tap[:, :, :, i, j], ((0, 0), (i // s_h, q_h - 1 - i // s_h),
                                                 (j // s_w, q_w - 1 - j // s_w), (0, 0)))
                  for i in range(r_h, k_h, s_h) for j in range(r_w, k_w, s_w)), zeros)
             for r_w in range(s_w)] for r_h in range(s_h)]
  d_padded = jnp.stack([jnp.stack(row, axis=3) for row in phases], axis=2)
  d_padded = d_padded.reshape(n, rows * s_h, cols * s_w, -1)  # [n, s_h * m + r_h, ...]
  # The padded input's rows [top, top + h) are x's; rows past the last one read get zeros.
  d_x = lax.pad(d_padded, jnp.float32(0), ((0, 0, 0), (-top, top + h - rows * s_h, 0),
                                           (-left, left + w - cols * s_w, 0), (0, 0, 0)))
  return (d_x.astype(d_patches.dtype),)


_patches.defvjp(_patches_fwd, _patches_bwd)


def _einsum(spec, a, b):
  """`jnp.einsum` accumulated in float32, returned in `a`'s dtype.

  XLA:CPU multiplies bfloat16 matrices about twice as fast as float32 when it accumulates and
  outputs float32, and no faster than float32 when it outputs bfloat16.
  """
  return jnp.einsum(spec, a, b, preferred_element_type=jnp.float32).astype(a.dtype)


@jax.custom_vjp
def _matmul(a, b):
  """`a @ b` (batched over leading axes) that accumulates in float32 in the backward pass too
  (see `_einsum`)."""
  return _einsum('...mk,...kn->...mn', a, b)


def _matmul_fwd(a, b):
  return _matmul(a, b), (a, b)


def _matmul_bwd(residuals, dy):
  a, b = residuals
  dy = dy.astype(a.dtype)
  return _einsum('...mn,...kn->...mk', dy, b), _einsum('...mk,...mn->...kn', a, dy)


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _tap_sum_conv(x, kernel, padding):
  """Stride-1 convolution: every pixel times all taps, then the taps' shifted sum.

  The padding goes on the taps' products, which have fewer channels than `x` (padding a
  64x64x512 input took longer than the product). The VJP is written out: on XLA:CPU the
  autodiff one fused into a pass about 4x slower than the two products it needs.
  """
  k_h, k_w = kernel.shape[:2]
  by_tap = _einsum('nhwc,ijcd->nhwijd', x, kernel)
  by_tap = jnp.pad(by_tap, ((0, 0), *padding, (0, 0), (0, 0), (0, 0)))
  out_h, out_w = by_tap.shape[1] - k_h + 1, by_tap.shape[2] - k_w + 1
  return sum(by_tap[:, i:i + out_h, j:j + out_w, i, j] for i in range(k_h) for j in range(k_w))


def _tap_sum_conv_fwd(x, kernel, padding):
  return _tap_sum_conv(x, kernel, padding), (x, kernel)


def _tap_sum_conv_bwd(padding, residuals, dy):
  x, kernel = residuals
  k_h, k_w = kernel.shape[:2]
  (top, bottom), (left, right) = padding
  rows = top + x.shape[1] + bottom - dy.shape[1]
  cols = left + x.shape[2] + right - dy.shape[2]
  # The cotangent of the padded by_tap[n, p, q, i, j] is dy[n, p - i, q - j], zero outside dy;
  # that of by_tap, its unpadded part.
  d_by_tap = jnp.stack(
      [jnp.stack([jnp.pad(dy, ((0, 0), (i, rows - i), (j, cols - j), (0, 0)))
                  for j in range(k_w)], axis=3) for i in range(k_h)], axis=3)
  d_by_tap = d_by_tap[:, top:top + x.shape[1], left:left + x.shape[2]].astype(x.dtype)
  return _einsum('nhwijd,ijcd->nhwc', d_by_tap, kernel), _einsum('nhwc,nhwijd->ijcd', x, d_by_tap)


_tap_sum_conv.defvjp(_tap_sum_conv_fwd, _tap_sum_conv_bwd)


def conv_for_backend() -> Callable:
  """The convolution for the default backend: `matmul_conv` on CPU, else XLA's own."""
  return matmul_conv if jax.default_backend() == 'cpu' else lax.conv_general_dilated


def upfirdn2d(x, f: np.ndarray, up: int = 1, down: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0):
  """Upsample (insert zeros), pad (x0, x1, y0, y1; negative crops), convolve with the FIR
  filter `f` (a true convolution: flipped, then correlated), downsample (keep every `down`-th
  pixel); `f` scaled by `gain`. As `upfirdn2d._upfirdn2d_ref`, on NHWC."""
  n, h, w, c = x.shape
  if up > 1:
    x = x.reshape(n, h, 1, w, 1, c)
    x = jnp.pad(x, ((0, 0), (0, 0), (0, up - 1), (0, 0), (0, up - 1), (0, 0)))
    x = x.reshape(n, h * up, w * up, c)
  px0, px1, py0, py1 = padding
  x = jnp.pad(x, ((0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0)), (0, 0)))
  x = x[:, max(-py0, 0):x.shape[1] - max(-py1, 0), max(-px0, 0):x.shape[2] - max(-px1, 0)]
  # The filter as a sum of shifted slices (one pass per axis when it is separable): elementwise
  # work that every backend runs and differentiates fast, where a depthwise convolution is slow
  # on XLA:CPU.
  kernel = np.asarray(f, np.float32)[::-1, ::-1] * gain
  column, row = _separated(kernel)
  if column is not None:
    x = _shifted_sum(x, column[:, None])
    x = _shifted_sum(x, row[None, :])
  else:
    x = _shifted_sum(x, kernel)
  return x[:, ::down, ::down]


def _separated(kernel: np.ndarray):
  """(column, row) taps whose outer product is `kernel`, or (None, None)."""
  u, singular, vt = np.linalg.svd(kernel.astype(np.float64))
  if singular[1:].sum() > 1e-6 * singular[0]:
    return None, None
  return u[:, 0] * singular[0], vt[0]


def _shifted_sum(x, kernel: np.ndarray):
  """The 'valid' correlation of NHWC `x` with a small 2-D `kernel`, each channel alone."""
  kh, kw = kernel.shape
  out_h, out_w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
  out = None
  for a in range(kh):
    for b in range(kw):
      if kernel[a, b]:
        term = x[:, a:a + out_h, b:b + out_w] * float(kernel[a, b])
        out = term if out is None else out + term
  return out


def minibatch_stddev(x, group_size: int | None = 4, num_channels: int = 1):
  """Minibatch standard deviation (Karras et al. 2018), as stylegan2-ada-pytorch's
  `MinibatchStdLayer` and progressive_growing_of_gans' `minibatch_stddev_layer` (one channel
  group) compute it: per group of `group_size` samples (samples i, i + n, i + 2n, ...), the
  standard deviation of each feature over the group, averaged over pixels and each of
  `num_channels` channel groups, appended as `num_channels` constant feature maps."""
  n, h, w, c = x.shape
  g = min(group_size, n) if group_size is not None else n
  y = x.astype(jnp.float32).reshape(g, -1, h, w, num_channels, c // num_channels)
  y = jnp.sqrt(jnp.square(y - y.mean(0)).mean(0) + 1e-8)
  y = y.mean((1, 2, 4))  # [n/g, F]
  y = jnp.tile(y, (g, 1))[:, None, None, :]
  return jnp.concatenate([x, jnp.broadcast_to(y, (n, h, w, num_channels)).astype(x.dtype)], -1)


def _phase_plan(kernel: int, stride: int):
  """For a 'SAME' transposed conv: the kernel taps each output phase uses, and where it reads.

  Output row o = stride * m + p reads input row m + start[p] + i with kernel tap
  first_tap[p] + stride * i, for i < kernel // stride (from `lax.conv_transpose`'s padding).
  """
  pad_len = kernel + stride - 2
  pad_before = kernel - 1 if stride > kernel - 1 else -(-pad_len // 2)
  first_tap = [(pad_before - p) % stride for p in range(stride)]
  start = [(p + t - pad_before) // stride for p, t in zip(range(stride), first_tap)]
  return first_tap, start


class PhaseConvTranspose(nn.Module):
  """Transposed 2-D convolution, 'SAME' padding, kernel a multiple of the stride.

  Parameters have `nn.ConvTranspose`'s names, shapes and meaning (kernel `(k, k, in, out)`,
  `transpose_kernel=False`), so parameters load from and into either layer unchanged. The
  `s * s` output phases are computed by one convolution with a `(k/s, k/s)` kernel and
  `s * s * out` channels, then interleaved (depth-to-space), or by Winograd's algorithm
  (`algorithm`, see `conv_transpose_by_phases`).
  """

  features: int
  kernel_size: int = 4
  strides: int = 2
  use_bias: bool = True
  algorithm: str = 'auto'
  dtype: jnp.dtype | None = None
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.strides
    if k % s:
      raise ValueError(f'kernel_size {k} must be a multiple of strides {s}')
    kernel = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features))
    bias = self.param('bias', self.bias_init, (self.features,)) if self.use_bias else None
    x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
    y = conv_transpose_by_phases(x, kernel, s, self.algorithm)
    return y if bias is None else y + bias


ALGORITHMS = ('auto', 'phases', 'winograd')


def conv_transpose_by_phases(x, kernel, stride: int, algorithm: str = 'auto'):
  """`lax.conv_transpose(x, kernel, (stride, stride), 'SAME')` (NHWC, HWIO kernel `(k, k, in,
  out)`, k a multiple of `stride`, `transpose_kernel=False`) by output phases.

  'phases': one stride-1 convolution; the `stride**2` output phases are computed with a
  `(k/s, k/s)` kernel of `s * s * out` channels, then interleaved (depth-to-space).
  'winograd' (k = 2 * stride): each phase's 2x2-window convolution by Winograd's F(4x4, 2x2)
  (`winograd.py`), in float32 whatever the input's dtype: 37% of the multiplications, more
  memory traffic. 'auto' (`auto_algorithm`) picks it where `benchmarks/conv_transpose.py`
  measured it faster: on CPU, for float32 layers of 512 tiles or more (4x4 outputs of a phase,
  over the batch), at least 128 channels on each side and 256 on one. On a 2-core AMD EPYC (Zen
  3, AVX2), the forward and both gradients of `dcgan64`'s last layer (32x32x256 -> 64x64x512)
  ran 1.48x as fast at batch 8 and 1.64x at batch 32, its 16x16x128 -> 32x32x256 layer 1.28x at
  batch 32; layers with fewer tiles, or 128 channels on both sides, or 64 on one, at 0.64-0.97x
  (`benchmarks/results/zen3/conv_transpose.json`; the smallest, a few ms, varied more).
  """
  if algorithm not in ALGORITHMS:
    raise ValueError(f'algorithm {algorithm!r} is not one of {ALGORITHMS}')
  k, s, features = kernel.shape[0], stride, kernel.shape[-1]
  first_tap, start = _phase_plan(k, s)
  window = k // s
  if algorithm == 'auto':
    algorithm = auto_algorithm(x, kernel, s)
  if algorithm == 'winograd':
    if window != 2:
      raise ValueError(f'winograd needs a kernel twice the stride, not {k} for stride {s}')
    return _conv_transpose_winograd(x, kernel, s, first_tap, start)
  # Tap t = s * i + r sits at [i, r]; phase p uses remainder r = first_tap[p]. Static slices
  # (not a gather) keep the weight gradient an ordinary convolution's.
  by_tap = kernel.reshape(window, s, window, s, *kernel.shape[2:])
  phase_kernel = jnp.stack(
      [jnp.stack([by_tap[:, rh, :, rw] for rw in first_tap], axis=-2) for rh in first_tap],
      axis=-3)  # (window, window, in, s, s, out)
  phase_kernel = phase_kernel.reshape(window, window, x.shape[-1], s * s * features)
  lo, hi = min(start), max(start)
  pad = (-lo, hi + window - 1)
  y = conv_for_backend()(x, phase_kernel, (1, 1), (pad, pad), dimension_numbers=NHWC_HWIO)
  n, h, w = x.shape[:3]
  y = y.reshape(*y.shape[:3], s, s, features)
  shift = [p_start - lo for p_start in start]
  rows = [
      jnp.stack([y[:, shift[ph]:shift[ph] + h, shift[pw]:shift[pw] + w, ph, pw]
                 for pw in range(s)], axis=3)
      for ph in range(s)
  ]
  return jnp.stack(rows, axis=2).reshape(n, h * s, w * s, features)


def auto_algorithm(x, kernel, stride: int) -> str:
  """What `conv_transpose_by_phases(x, kernel, stride, 'auto')` runs (`x` and `kernel` may be
  `jax.ShapeDtypeStruct`s): see there."""
  tiles = x.shape[0] * -(-x.shape[1] // winograd.TILE) * -(-x.shape[2] // winograd.TILE)
  channels = kernel.shape[-2:]
  large = min(channels) >= 128 and max(channels) >= 256 and tiles >= 512
  return ('winograd' if jax.default_backend() == 'cpu' and x.dtype == jnp.float32
          and (kernel.shape[0], stride) == (4, 2) and large else 'phases')


def _conv_transpose_winograd(x, kernel, s, first_tap, start):
  """`conv_transpose_by_phases` by Winograd F(4x4, 2x2), every phase's 2x2-window convolution
  as 25 matrix products over the tiles of the batch (`winograd.py`)."""
  n, h, w, c = x.shape
  features = kernel.shape[-1]
  by_tap = kernel.astype(jnp.float32).reshape(2, s, 2, s, c, features)
  phase_kernels = jnp.stack([jnp.stack([by_tap[:, rh, :, rw] for rw in first_tap])
                             for rh in first_tap])  # [s, s, 2, 2, in, out]
  lo = min(start)
  shifts = tuple(p_start - lo for p_start in start)  # where each phase's reads start, padded
  tiles = (-(-h // winograd.TILE), -(-w // winograd.TILE))
  rows, cols = (max(shifts) + winograd.TILE * t + 1 for t in tiles)  # what the last tile reads
  padded = jnp.pad(x.astype(jnp.float32),
                   ((0, 0), (-lo, rows - h + lo), (-lo, cols - w + lo), (0, 0)))
  p = winograd.POINTS
  points = winograd.input_points(padded, shifts, tiles).reshape(s * s * p * p, -1, c)
  kernel_points = winograd.kernel_points(phase_kernels).reshape(s * s * p * p, c, features)
  products = _matmul(points, kernel_points).reshape(s, s, p, p, n, *tiles, features)
  y = winograd.output_from_points(products)
  return y[:, :h * s, :w * s].astype(x.dtype)
