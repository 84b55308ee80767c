"""Progressive growing of GANs (Karras et al. 2018) as tkarras/progressive_growing_of_gans
defines its networks (`networks.py`: `G_paper`, `D_paper`, fused scaling), in Flax, images NHWC.

Both networks are built for one `stage` of the growth: stage s works at resolution 4 * 2**s
(stage 0: 4x4); stage None is the last one, at `resolution`. While a stage fades in, the
generator's image is the new ToRGB's output blended with the previous resolution's, upscaled,
and the discriminator's features are blended with those of the previous resolution's FromRGB
on the image box-filtered to half size, both by `alpha`, the fraction of the fade done (1: the
new layers alone). `alpha` is a variable of each network (collection 'progress', the reference
keeps `lod` as a variable of each network): the game writes it into the state every step, so it
is a traced value and a stage compiles once, and it is saved and resumed with the rest.

Generator: the latent normalized (pixel norm), a dense layer to 4x4 and a 3x3 convolution, then
per resolution an upscaling 3x3 convolution (nearest-neighbour upscaling fused into a transposed
convolution, as the reference's `upscale2d_conv2d`) and a 3x3 convolution, each followed by
leaky ReLU (0.2) and pixel norm; a linear 1x1 ToRGB per resolution. Discriminator: a 1x1 FromRGB
with leaky ReLU per resolution, per resolution a 3x3 convolution and a downscaling one (a 3x3
convolution fused with 2x2 average pooling, `conv2d_downscale2d`), then at 4x4 the minibatch
standard deviation (groups of 4), a 3x3 convolution and two dense layers to one score. Every
layer has the equalized learning rate: weights drawn N(0, 1), scaled at run time by the He
constant gain / sqrt(fan_in) (gain sqrt(2); 1 for ToRGB and the last dense layer; sqrt(2) / 4 for
the generator's first dense layer), biases zero.

Channels at resolution r: min(channel_base // r, channel_max), as jaxgan's StyleGAN2 counts them
(the reference's `fmap_base` is channel_base / 2: its CelebA-HQ networks, fmap_base 8192 and
fmap_max 512, are channel_base 16384 here). Layers are named as the reference's variable scopes
(`4x4/Dense` is `4x4` / `Dense`; `ToRGB_lod0` is the last resolution's ToRGB); kernels are HWIO.
"""

import math

import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from jaxgan.nets.layers import (NHWC_HWIO, conv_for_backend, conv_transpose_by_phases,
                                minibatch_stddev)

HE_GAIN = math.sqrt(2)
LRELU_SLOPE = 0.2


def stages_for(resolution: int) -> int:
  """How many stages grow 4x4 into `resolution` (a power of two from 4)."""
  return int(math.log2(resolution)) - 1


def stage_resolution(stage: int) -> int:
  return 4 * 2 ** stage


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
  return min(channel_base // resolution, channel_max)


def pixel_norm(x, epsilon: float = 1e-8):
  """Each pixel's feature vector scaled to unit mean square (`pixel_norm`)."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def upscale2d(x, factor: int = 2):
  """Nearest-neighbour upscaling (`upscale2d`)."""
  if factor == 1:
    return x
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def downscale2d(x, factor: int = 2):
  """Box-filter downscaling: the mean of each `factor` x `factor` block (`downscale2d`)."""
  if factor == 1:
    return x
  n, h, w, c = x.shape
  return x.reshape(n, h // factor, factor, w // factor, factor, c).mean((2, 4))


def _fused_kernel(kernel):
  """The 4x4 kernel of a 3x3 one fused with a 2x scaling: the sum of its four one-pixel shifts
  (the reference's `tf.pad` then `tf.add_n` of four slices)."""
  padded = jnp.pad(kernel, ((1, 1), (1, 1), (0, 0), (0, 0)))
  return padded[1:, 1:] + padded[:-1, 1:] + padded[1:, :-1] + padded[:-1, :-1]


class EqualizedConv(nn.Module):
  """A k x k convolution (SAME) with the equalized learning rate, and a bias; `scale` 'up': fused
  with 2x nearest upscaling before it (TensorFlow's `conv2d_transpose` of the fused kernel, here
  by output phases: ordinary convolutions only); 'down': fused with 2x2 average pooling after it
  (a stride-2 convolution with the fused kernel / 4)."""
  features: int
  kernel: int = 3
  gain: float = HE_GAIN
  scale: str | None = None
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    fan_in = self.kernel ** 2 * x.shape[-1]
    weight = self.param('weight', nn.initializers.normal(1.0),
                        (self.kernel, self.kernel, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    weight = (weight * (self.gain / math.sqrt(fan_in))).astype(self.dtype)
    x = x.astype(self.dtype)
    if self.scale == 'up':
      # conv2d_transpose flips the kernel and swaps its channels; here the HWIO kernel flipped.
      x = conv_transpose_by_phases(x, _fused_kernel(weight)[::-1, ::-1], 2)
    elif self.scale == 'down':
      x = conv_for_backend()(x, _fused_kernel(weight) * 0.25, (2, 2), 'SAME',
                             dimension_numbers=NHWC_HWIO)
    else:
      x = conv_for_backend()(x, weight, (1, 1), 'SAME', dimension_numbers=NHWC_HWIO)
    return x + bias.astype(self.dtype)


class EqualizedDense(nn.Module):
  """A fully connected layer with the equalized learning rate, and a bias; with `shape`, its
  output reshaped to it (per example) before the bias, which has the last axis's size (the
  generator's first layer: 4x4 feature maps with a bias per channel)."""
  features: int
  gain: float = HE_GAIN
  shape: tuple[int, ...] = ()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    x = x.reshape(x.shape[0], -1).astype(self.dtype)
    weight = self.param('weight', nn.initializers.normal(1.0), (x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, self.shape[-1:] or (self.features,))
    x = x @ (weight * (self.gain / math.sqrt(x.shape[-1]))).astype(self.dtype)
    return x.reshape(x.shape[0], *self.shape) + bias.astype(self.dtype) if self.shape \
        else x + bias.astype(self.dtype)


def _act(x):
  return nn.leaky_relu(x, LRELU_SLOPE)


def _alpha(module: nn.Module):
  """The network's fade-in progress (collection 'progress'; 1 until the game writes it)."""
  return module.variable('progress', 'alpha', lambda: jnp.ones((), jnp.float32)).value


class GeneratorBlock(nn.Module):
  """One resolution of `G_paper`: at 4x4 the dense layer and a convolution, above it the
  upscaling convolution and a convolution, each activated and pixel-normalized."""
  features: int
  first: bool
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if self.first:
      x = EqualizedDense(16 * self.features, gain=HE_GAIN / 4, shape=(4, 4, self.features),
                         dtype=self.dtype, name='Dense')(x)
      x = pixel_norm(_act(x))
      return pixel_norm(_act(EqualizedConv(self.features, dtype=self.dtype, name='Conv')(x)))
    x = pixel_norm(_act(EqualizedConv(self.features, scale='up', dtype=self.dtype,
                                      name='Conv0_up')(x)))
    return pixel_norm(_act(EqualizedConv(self.features, dtype=self.dtype, name='Conv1')(x)))


class Generator(nn.Module):
  """`G_paper` at `stage` (None: the last): latents [n, latent_dim] -> images [n, r, r,
  channels], r = 4 * 2**stage, linear output (the reference trains on images in [-1, 1])."""
  resolution: int
  channels: int = 3
  channel_base: int = 16384
  channel_max: int = 512
  normalize_latents: bool = True
  stage: int | None = None
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z):
    last = stages_for(self.resolution) - 1
    stage = last if self.stage is None else self.stage
    alpha = _alpha(self)
    x = pixel_norm(z.astype(jnp.float32)) if self.normalize_latents else z
    features = []
    for s in range(stage + 1):
      res = stage_resolution(s)
      x = GeneratorBlock(channels_at(res, self.channel_base, self.channel_max), s == 0,
                         self.dtype, name=f'{res}x{res}')(x)
      features.append(x)

    def to_rgb(s):
      return EqualizedConv(self.channels, 1, gain=1.0, dtype=self.dtype,
                           name=f'ToRGB_lod{last - s}')(features[s]).astype(jnp.float32)
    image = to_rgb(stage)
    if stage > 0:
      previous = upscale2d(to_rgb(stage - 1))
      image = previous + alpha * (image - previous)
    return image


class DiscriminatorBlock(nn.Module):
  """One resolution of `D_paper`: above 4x4 a convolution and a downscaling one; at 4x4 the
  minibatch standard deviation, a convolution and two dense layers (the last to one score)."""
  features: int
  out_features: int
  last: bool
  mbstd_group_size: int = 4
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if not self.last:
      x = _act(EqualizedConv(self.features, dtype=self.dtype, name='Conv0')(x))
      return _act(EqualizedConv(self.out_features, scale='down', dtype=self.dtype,
                                name='Conv1_down')(x))
    if self.mbstd_group_size > 1:
      x = minibatch_stddev(x, self.mbstd_group_size)
    x = _act(EqualizedConv(self.features, dtype=self.dtype, name='Conv')(x))
    x = _act(EqualizedDense(self.out_features, dtype=self.dtype, name='Dense0')(x))
    return EqualizedDense(1, gain=1.0, dtype=self.dtype, name='Dense1')(x)


class Discriminator(nn.Module):
  """`D_paper` at `stage` (None: the last): images [n, r, r, channels] -> scores [n]. Larger
  images are box-filtered down to the stage's resolution first (as the reference's networks,
  which always take the full resolution, do)."""
  resolution: int
  channels: int = 3
  channel_base: int = 16384
  channel_max: int = 512
  mbstd_group_size: int = 4
  stage: int | None = None
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, images, train: bool = True, update_stats: bool = False):
    del train, update_stats  # no dropout, no statistics
    last = stages_for(self.resolution) - 1
    stage = last if self.stage is None else self.stage
    alpha = _alpha(self)
    ch = lambda res: channels_at(res, self.channel_base, self.channel_max)
    images = downscale2d(images.astype(jnp.float32),
                         images.shape[1] // stage_resolution(stage))

    def from_rgb(image, s):
      return _act(EqualizedConv(ch(stage_resolution(s)), 1, dtype=self.dtype,
                                name=f'FromRGB_lod{last - s}')(image))

    def block(x, s):
      res = stage_resolution(s)
      return DiscriminatorBlock(ch(res), ch(res // 2), s == 0, self.mbstd_group_size,
                                self.dtype, name=f'{res}x{res}')(x)

    x = block(from_rgb(images, stage), stage)
    if stage > 0:
      previous = from_rgb(downscale2d(images), stage - 1)
      x = previous + alpha * (x - previous)
    for s in reversed(range(stage)):
      x = block(x, s)
    return x[:, 0].astype(jnp.float32)


def fade_reals(images, alpha):
  """Real images of a stage that fades in, as the reference's `process_reals` blends them:
  toward their 2x box-filtered, upscaled copy by 1 - `alpha`, so that the discriminator sees
  real images as sharp as the generator's."""
  blurred = upscale2d(downscale2d(images))
  return images + (blurred - images) * (1 - alpha)

