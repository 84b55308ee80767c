"""ADA's augmentation pipeline (Karras et al. 2020), as stylegan2-ada-pytorch's
`training/augment.py` (`AugmentPipe`) defines it, on NHWC images in the model's range.

`pipeline(spec)` returns `augment(key, images, p)`, the function `jaxgan.augment.adaptive` drives
with ADA's p. Every transformation is applied to each image independently with probability
`p * its multiplier` (1 in the reference's specs), in the reference's order:
  blit   x-flip, 90-degree rotations, integer translation (up to 1/8 of the size)
  geom   isotropic scaling (log2 std 0.2), rotation (any angle, before and after the anisotropic
         scaling, each with the probability that makes one of them p), anisotropic scaling
         (log2 std 0.2), fractional translation (std 1/8 of the size)
  color  brightness (+N(0, 0.2)), contrast (x 2^N(0, 0.5)), luma flip, hue rotation (any angle
         about the luma axis), saturation (x 2^N(0, 1))
The geometric ones compose into one inverse matrix per image, executed as the reference does:
reflect padding, 2x upsampling with the 'sym6' wavelet, bilinear sampling, filtering back down;
the colour ones into one 4x4 matrix. Everything is differentiable: the generator's gradient
flows through the augmentation, and R1 sees the discriminator through it.

Departures: the random draws come from JAX keys (the reference's come from torch's global
generator in its order); the padding is the largest the reference may use (size - 1 per side)
for static shapes, where the reference computes the smallest that covers the transformed image
(the same output wherever the reference's padding is uncapped: it covers every sample taken).
  cutout a square of half the image's side zeroed at a uniform centre (after the colours)
A transformation's multiplier scales its probability: R3GAN's pipeline ('r3gan', its train.py)
applies the colour ones at p / 2. The reference's image-space filtering and noise ('f', 'n') are
not here yet.
"""

import math
import statistics
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nets.layers import upfirdn2d

SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036,
        -0.007800708325034148)  # the reference's wavelets['sym6']

# The reference's `augpipe_specs` (train.py): which transformations, each with multiplier 1.
BLIT = ('xflip', 'rotate90', 'xint')
GEOM = ('scale', 'rotate', 'aniso', 'xfrac')
COLOR = ('brightness', 'contrast', 'lumaflip', 'hue', 'saturation')
SPECS = {'blit': BLIT, 'geom': GEOM, 'color': COLOR, 'bg': BLIT + GEOM, 'bgc': BLIT + GEOM + COLOR,
         # brownvc/R3GAN's train.py (augment_kwargs): every geometric one, the colour ones at
         # multiplier 0.5, cutout
         'r3gan': {**dict.fromkeys(BLIT + GEOM, 1.0), **dict.fromkeys(COLOR, 0.5), 'cutout': 1.0}}
CUTOUT_SIZE = 0.5

# The reference's AugmentPipe defaults.
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0
LUMA_AXIS = np.array([1, 1, 1, 0], np.float32) / np.sqrt(3)


# ---------------------------------------------------------------- matrices (batched)

def _matrix(rows, n):
  """A batch of matrices from rows of scalars or (n,) arrays."""
  return jnp.stack([jnp.stack([jnp.broadcast_to(jnp.asarray(e, jnp.float32), (n,))
                               for e in row], -1) for row in rows], -2)


def translate2d(tx, ty, n):
  return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], n)


def scale2d(sx, sy, n):
  return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], n)


def rotate2d(theta, n):
  return _matrix([[jnp.cos(theta), -jnp.sin(theta), 0], [jnp.sin(theta), jnp.cos(theta), 0],
                  [0, 0, 1]], n)


def translate3d(t, n):
  return _matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], n)


def scale3d(s, n):
  return _matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], n)


def rotate3d(v, theta, n):
  """Rotation by `theta` about the unit axis `v` (Rodrigues), homogeneous 4x4."""
  vx, vy, vz = (float(c) for c in v[:3])
  s, c = jnp.sin(theta), jnp.cos(theta)
  cc = 1 - c
  return _matrix([[vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
                  [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
                  [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
                  [0, 0, 0, 1]], n)


# ---------------------------------------------------------------- parameters

DRAW_COLUMNS = 8  # the most columns of one kind a matrix below takes (geometric: 8 choices)


def _draws(key, n: int, percentile: float | None):
  """Three makers of [n] or [n, k] draws for one matrix: `uniform(shape)`, `normal(shape)`
  (with `percentile`, the reference's `debug_percentile` values: the percentile itself and
  erfinv(2 percentile - 1)) and `chosen(probability, shape)`, which is never fixed.

  Each kind is one [n, DRAW_COLUMNS] draw handed out a column at a time: three random calls per
  matrix, where a call per value made most of the pipeline's compile time (each call is a loop
  of its own in XLA:CPU's program: the forward pass compiled in 2.7 s, now 1.2 s, on a 2-core
  AMD EPYC). The draws are as random as before, and independent."""
  k_uniform, k_normal, k_chosen = jax.random.split(key, 3)
  if percentile is None:
    uniforms = jax.random.uniform(k_uniform, (n, DRAW_COLUMNS))
    normals = jax.random.normal(k_normal, (n, DRAW_COLUMNS))
  else:
    fixed = statistics.NormalDist().inv_cdf(percentile) / math.sqrt(2)  # erfinv(2 pct - 1)
    uniforms = jnp.full((n, DRAW_COLUMNS), percentile, jnp.float32)
    normals = jnp.full((n, DRAW_COLUMNS), fixed, jnp.float32)
  choices = jax.random.uniform(k_chosen, (n, DRAW_COLUMNS))

  def columns(values):
    used = 0

    def take(shape=(n,)):
      nonlocal used
      count = math.prod(shape[1:])
      if used + count > DRAW_COLUMNS:
        raise ValueError(f'a matrix takes more than DRAW_COLUMNS = {DRAW_COLUMNS} draws of a kind')
      used += count
      return values[:, used - count:used].reshape(shape)
    return take

  uniform, normal, choice = columns(uniforms), columns(normals), columns(choices)
  return uniform, normal, lambda probability, shape=(n,): choice(shape) < probability


def _strengths(enabled) -> dict[str, float]:
  """{transformation: multiplier} from names (multiplier 1) or such a mapping."""
  return dict(enabled) if isinstance(enabled, dict) else dict.fromkeys(enabled, 1.0)


def geometric_matrix(key, n: int, height: int, width: int, p, enabled=BLIT + GEOM,
                     percentile: float | None = None):
  """Each image's inverse transform G_inv (output pixel -> input pixel), [n, 3, 3], with the
  `enabled` transformations (names, or {name: multiplier of p}) drawn as the reference draws
  them (`percentile`: every value fixed as the reference's `debug_percentile` fixes it; whether
  each applies is still drawn)."""
  uniform, normal, draw = _draws(key, n, percentile)
  enabled = _strengths(enabled)
  chosen = lambda probability, shape=(n,), name=None: draw(probability * enabled[name], shape)
  g = jnp.broadcast_to(jnp.eye(3), (n, 3, 3))
  if 'xflip' in enabled:
    i = jnp.where(chosen(p, name='xflip'), jnp.floor(uniform() * 2), 0.0)
    g = g @ scale2d(1 / (1 - 2 * i), 1, n)
  if 'rotate90' in enabled:
    i = jnp.where(chosen(p, name='rotate90'), jnp.floor(uniform() * 4), 0.0)
    g = g @ rotate2d(np.pi / 2 * i, n)  # rotate2d_inv(-pi/2 i)
  if 'xint' in enabled:
    t = jnp.where(chosen(p, (n, 1), 'xint'), (uniform((n, 2)) * 2 - 1) * XINT_MAX, 0.0)
    g = g @ translate2d(-jnp.round(t[:, 0] * width), -jnp.round(t[:, 1] * height), n)
  if 'scale' in enabled:
    s = jnp.where(chosen(p, name='scale'), jnp.exp2(normal() * SCALE_STD), 1.0)
    g = g @ scale2d(1 / s, 1 / s, n)
  # P(pre or post rotation) = p times the rotation's multiplier
  p_rot = 1 - jnp.sqrt(jnp.clip(1 - p * enabled.get('rotate', 1.0), 0, 1))
  if 'rotate' in enabled:
    theta = jnp.where(draw(p_rot), (uniform() * 2 - 1) * np.pi * ROTATE_MAX, 0.0)
    g = g @ rotate2d(theta, n)  # rotate2d_inv(-theta)
  if 'aniso' in enabled:
    s = jnp.where(chosen(p, name='aniso'), jnp.exp2(normal() * ANISO_STD), 1.0)
    g = g @ scale2d(1 / s, s, n)
  if 'rotate' in enabled:
    theta = jnp.where(draw(p_rot), (uniform() * 2 - 1) * np.pi * ROTATE_MAX, 0.0)
    g = g @ rotate2d(theta if percentile is None else jnp.zeros(n), n)
  if 'xfrac' in enabled:
    t = jnp.where(chosen(p, (n, 1), 'xfrac'), normal((n, 2)) * XFRAC_STD, 0.0)
    g = g @ translate2d(-t[:, 0] * width, -t[:, 1] * height, n)
  return g


def color_matrix(key, n: int, channels: int, p, enabled=COLOR, percentile: float | None = None):
  """Each image's colour transform C (color_in -> color_out, homogeneous), [n, 4, 4], of the
  `enabled` transformations (names, or {name: multiplier of p})."""
  uniform, normal, choice = _draws(key, n, percentile)
  enabled = _strengths(enabled)
  chosen = lambda name: choice(p * enabled[name])
  v = jnp.asarray(LUMA_AXIS)
  vv = jnp.outer(v, v)
  c = jnp.broadcast_to(jnp.eye(4), (n, 4, 4))
  if 'brightness' in enabled:
    b = jnp.where(chosen('brightness'), normal() * BRIGHTNESS_STD, 0.0)
    c = translate3d(b, n) @ c
  if 'contrast' in enabled:
    s = jnp.where(chosen('contrast'), jnp.exp2(normal() * CONTRAST_STD), 1.0)
    c = scale3d(s, n) @ c
  if 'lumaflip' in enabled:
    i = jnp.where(chosen('lumaflip'), jnp.floor(uniform() * 2), 0.0)
    c = (jnp.eye(4) - 2 * vv * i[:, None, None]) @ c  # Householder reflection
  if 'hue' in enabled and channels > 1:
    theta = jnp.where(chosen('hue'), (uniform() * 2 - 1) * np.pi * HUE_MAX, 0.0)
    c = rotate3d(LUMA_AXIS, theta, n) @ c
  if 'saturation' in enabled and channels > 1:
    s = jnp.where(chosen('saturation'), jnp.exp2(normal() * SATURATION_STD), 1.0)
    c = (vv + (jnp.eye(4) - vv) * s[:, None, None]) @ c
  return c


# ---------------------------------------------------------------- execution

def apply_geometric(images, g_inv):
  """Resamples NHWC `images` by each one's inverse transform [n, 3, 3] (pixel units, origin at
  the image centre), as the reference executes it."""
  n, h, w, c = images.shape
  taps = np.asarray(SYM6, np.float64)
  f = np.outer(taps, taps) / taps.sum() ** 2  # setup_filter: separable, normalised
  hz_pad = len(SYM6) // 4
  my, mx = h - 1, w - 1  # the reference's largest margin
  x = jnp.pad(images, ((0, 0), (my, my), (mx, mx), (0, 0)), mode='reflect')
  fw = f.shape[0]
  p0, p1 = (fw + 1) // 2, (fw - 2) // 2  # upsample2d's padding for up = 2
  x = upfirdn2d(x, f, up=2, padding=(p0, p1, p0, p1), gain=4)
  g = scale2d(2, 2, n) @ g_inv @ scale2d(0.5, 0.5, n)
  g = translate2d(-0.5, -0.5, n) @ g @ translate2d(0.5, 0.5, n)
  out_h, out_w = (h + hz_pad * 2) * 2, (w + hz_pad * 2) * 2
  in_h, in_w = x.shape[1], x.shape[2]
  g = scale2d(2 / in_w, 2 / in_h, n) @ g @ scale2d(out_w / 2, out_h / 2, n)
  x = _grid_sample(x, _affine_grid(g[:, :2, :], out_h, out_w))
  # downsample2d(f, down=2, padding=-2 hz_pad, flip_filter=True): correlate with f
  pad = -hz_pad * 2 + (fw - 1) // 2
  return upfirdn2d(x, f[::-1, ::-1], down=2, padding=(pad, pad, pad, pad))


def _affine_grid(theta, height: int, width: int):
  """`torch.nn.functional.affine_grid(theta, align_corners=False)`: [n, h, w, 2] (x, y)."""
  xs = (2 * jnp.arange(width) + 1) / width - 1
  ys = (2 * jnp.arange(height) + 1) / height - 1
  base = jnp.stack([jnp.broadcast_to(xs[None, :], (height, width)),
                    jnp.broadcast_to(ys[:, None], (height, width)),
                    jnp.ones((height, width))], -1)
  return jnp.einsum('hwk,nik->nhwi', base, theta)


def _grid_sample(images, grid):
  """`torch.nn.functional.grid_sample(mode='bilinear', padding_mode='zeros',
  align_corners=False)` on NHWC images."""
  n, h, w, c = images.shape
  x = ((grid[..., 0] + 1) * w - 1) / 2
  y = ((grid[..., 1] + 1) * h - 1) / 2
  x0, y0 = jnp.floor(x), jnp.floor(y)
  out = 0.0
  batch = jnp.arange(n)[:, None, None]
  for dy in (0, 1):
    for dx in (0, 1):
      xi, yi = x0 + dx, y0 + dy
      weight = (1 - jnp.abs(x - xi)) * (1 - jnp.abs(y - yi))
      inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
      value = images[batch, jnp.clip(yi, 0, h - 1).astype(jnp.int32),
                     jnp.clip(xi, 0, w - 1).astype(jnp.int32)]
      out = out + value * jnp.where(inside, weight, 0.0)[..., None]
  return out


def apply_color(images, c):
  """Applies each image's colour matrix [n, 4, 4]: RGB as the 3x3 part and offset, a grey
  image by the matrix's rows averaged (the reference's rule for one channel)."""
  if images.shape[-1] == 3:
    return jnp.einsum('nij,nhwj->nhwi', c[:, :3, :3], images) + c[:, None, None, :3, 3]
  if images.shape[-1] == 1:
    mean = c[:, :3, :].mean(1)  # [n, 4]
    return images * mean[:, None, None, None, :3].sum(-1) + mean[:, None, None, None, 3]
  raise ValueError(f'ADA takes RGB or grey images, not {images.shape[-1]} channels')


def cutout(key, images, p, percentile: float | None = None):
  """`AugmentPipe`'s cutout: with probability p, each image's square of side CUTOUT_SIZE times
  its size, centred at a uniform point (`percentile`: at that fraction of each side), set to
  zero; pixels are inside where their centre's distance to it is below half the side."""
  n, h, w, _ = images.shape
  k_apply, k_centre = jax.random.split(key)
  applied = jax.random.uniform(k_apply, (n, 1, 1)) < p
  size = jnp.where(applied, CUTOUT_SIZE, 0.0)
  centre = (jax.random.uniform(k_centre, (n, 2, 1, 1)) if percentile is None else
            jnp.full((n, 2, 1, 1), percentile, jnp.float32))
  outside_x = jnp.abs((jnp.arange(w) + 0.5)[None, None, :] / w - centre[:, 0]) >= size / 2
  outside_y = jnp.abs((jnp.arange(h) + 0.5)[None, :, None] / h - centre[:, 1]) >= size / 2
  return images * (outside_x | outside_y).astype(images.dtype)[..., None]


def pipeline(spec: str | tuple[str, ...] = 'bgc', percentile: float | None = None
             ) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
  """`augment(key, images, p)`: the reference's pipeline `spec` (one of SPECS, or transformation
  names, or {name: multiplier of p}) at strength p; `percentile` fixes every value (tests)."""
  if isinstance(spec, str) and spec not in SPECS:
    raise ValueError(f'unknown ADA pipeline {spec!r}; known: {", ".join(SPECS)}')
  enabled = _strengths(SPECS[spec] if isinstance(spec, str) else spec)

  def augment(key, images, p):
    n, h, w, c = images.shape
    k_geom, k_color = jax.random.split(key)
    dtype = images.dtype
    images = images.astype(jnp.float32)
    if any(name in enabled for name in BLIT + GEOM):
      images = apply_geometric(images, geometric_matrix(k_geom, n, h, w, p, enabled, percentile))
    if any(name in enabled for name in COLOR):
      images = apply_color(images, color_matrix(k_color, n, c, p, enabled, percentile))
    if 'cutout' in enabled:
      images = cutout(jax.random.fold_in(key, 2), images, p * enabled['cutout'], percentile)
    return images.astype(dtype)
  return augment
