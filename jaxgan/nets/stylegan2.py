"""StyleGAN2 (Karras et al. 2020) as NVlabs' stylegan2-ada-pytorch defines it
(`training/networks.py`, its ops in `torch_utils/ops/`), in Flax, images NHWC.

Generator: a mapping network (z normalized to unit second moment, `num_layers` fully connected
layers at learning-rate multiplier 0.01, an optional label embedding, the tracked average `w_avg`)
and a synthesis network (a learned 4x4 constant, two modulated 3x3 convolutions per resolution
with weight demodulation and per-pixel noise of learned strength, the 'skip' architecture: a
ToRGB per resolution summed into an image upsampled with the [1, 3, 3, 1] filter).
Discriminator: the 'resnet' architecture (or 'orig'), minibatch standard deviation, and for a
class-conditional model the projection of a mapped label embedding. Every layer has equalized
learning rate: weights drawn N(0, 1) and scaled at run time by 1 / sqrt(fan_in).

Parameters keep the reference's names and layouts (`synthesis/b8/conv0/weight` is the
state dict's `synthesis.b8.conv0.weight`, [out, in, kh, kw]; fully connected weights [out, in]),
so a state dict converts by its names alone (`jaxgan.convert`). Non-trained tensors (`w_avg`,
each layer's `noise_const`) are the collection 'buffers'. Training mode is when 'buffers' is
mutable, as the game's step runs the generator: `w_avg` then tracks the mapped latents and style
mixing applies; sampling (immutable) does neither.
"""

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

from jaxgan.nets.layers import conv_for_backend, minibatch_stddev, upfirdn2d

NHWC_HWIO = ('NHWC', 'HWIO', 'NHWC')
RESAMPLE_FILTER = (1, 3, 3, 1)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # the reference's def_gain for 'lrelu'


# ---------------------------------------------------------------- ops (torch_utils/ops)

def setup_filter(taps: Sequence[float] = RESAMPLE_FILTER) -> np.ndarray:
  """The 2-D low-pass filter of separable `taps`, normalized to sum 1 (`upfirdn2d.setup_filter`
  for a filter of fewer than 8 taps)."""
  f = np.asarray(taps, np.float32)
  f = np.outer(f, f)
  return f / f.sum()


def upsample2d(x, f: np.ndarray, up: int = 2):
  """`upfirdn2d.upsample2d`: the size times `up`, the filter's gain `up**2`."""
  fw = f.shape[0]
  p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
  return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up ** 2)


def conv2d_resample(x, weight, f: np.ndarray | None = None, up: int = 1, down: int = 1,
                    padding: int = 0, flip_weight: bool = True):
  """A 2-D convolution with up- or downsampling, as `conv2d_resample.conv2d_resample`: the
  padding is with respect to the upsampled image and applied once; upsampling inserts zeros and
  low-pass filters before the convolution, downsampling low-pass filters before a strided
  convolution. `weight` is [out, in, kh, kw]; `flip_weight=False` convolves (the kernel flipped)
  where True correlates, as the reference's layers choose (`flip_weight = (up == 1)`)."""
  kernel = jnp.transpose(weight, (2, 3, 1, 0)).astype(x.dtype)  # OIHW -> HWIO
  if not flip_weight:
    kernel = kernel[::-1, ::-1]
  p0 = p1 = padding
  if up > 1 or down > 1:
    fw = f.shape[0]
    p0 += (fw + up - 1) // 2 if up > 1 else (fw - down + 1) // 2
    p1 += (fw - up) // 2 if up > 1 else (fw - down) // 2
    x = upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up ** 2)
    p0 = p1 = 0
  # On XLA:CPU `matmul_conv`: with XLA's own convolution the `stylegan2` preset compiled in 28 s
  # instead of 44 s and its plain step took 0.57 s instead of 0.63 s, but its path length steps
  # took 3.1 s instead of 0.79 s and its R1 steps 7.5 s instead of 1.0 s (second derivatives of
  # convolutions): 1.5 s a step on average instead of 0.68 s (one session, a 2-core AMD EPYC).
  return conv_for_backend()(x, kernel, (down, down), ((p0, p1), (p0, p1)),
                            dimension_numbers=NHWC_HWIO)


def bias_act(x, bias=None, activation: str = 'linear', gain: float | None = None,
             clamp: float | None = None):
  """`bias_act.bias_act`: add the bias, activate ('linear' or 'lrelu' with slope 0.2), scale by
  `gain` (default: the activation's, sqrt(2) for lrelu), clamp to +-`clamp`."""
  if bias is not None:
    x = x + bias.astype(x.dtype)
  if activation == 'lrelu':
    x = nn.leaky_relu(x, LRELU_SLOPE)
  default_gain = LRELU_GAIN if activation == 'lrelu' else 1.0
  x = x * (default_gain if gain is None else gain)
  return x if clamp is None else jnp.clip(x, -clamp, clamp)


def modulated_conv2d(x, weight, styles, noise=None, up: int = 1, padding: int = 0,
                     resample_filter: np.ndarray | None = None, demodulate: bool = True,
                     flip_weight: bool = True):
  """The modulated convolution: each sample's weights are `weight` [out, in, kh, kw] scaled per
  input channel by its `styles` [n, in], then (`demodulate`) each output channel's weights
  rescaled to unit norm. Computed as the reference's non-fused path: the input scaled by the
  styles, one shared convolution, the output scaled by the demodulation coefficients (equal to
  a convolution per sample with its own weights; `tests/test_stylegan2.py`)."""
  x = x * styles[:, None, None, :].astype(x.dtype)
  x = conv2d_resample(x, weight, resample_filter, up=up, padding=padding, flip_weight=flip_weight)
  if demodulate:
    # sum over in, kh, kw of (weight * style)^2, without forming the per-sample weights
    squared = jnp.square(styles) @ jnp.square(weight).sum((2, 3)).T
    x = x * lax.rsqrt(squared + 1e-8)[:, None, None, :].astype(x.dtype)
  return x if noise is None else x + noise.astype(x.dtype)


def normalize_2nd_moment(x, eps: float = 1e-8):
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=1, keepdims=True) + eps)


# ---------------------------------------------------------------- layers (equalized lr)

class FullyConnected(nn.Module):
  """`FullyConnectedLayer`: weight [out, in] ~ N(0, 1) / lr_multiplier, used times
  lr_multiplier / sqrt(in); bias initialised to `bias_init`, used times lr_multiplier."""
  features: int
  activation: str = 'linear'
  lr_multiplier: float = 1.0
  bias_init: float = 0.0

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    weight = self.param('weight', lambda key: jax.random.normal(key, (self.features, fan_in))
                        / self.lr_multiplier)
    bias = self.param('bias', lambda key: jnp.full((self.features,), self.bias_init, jnp.float32))
    x = x @ (weight * (self.lr_multiplier / math.sqrt(fan_in))).T.astype(x.dtype)
    return bias_act(x, bias * self.lr_multiplier, self.activation)


class Conv(nn.Module):
  """`Conv2dLayer`: weight [out, in, k, k] ~ N(0, 1), used times 1 / sqrt(in * k * k), with
  optional up/downsampling through the low-pass filter; `gain` scales the activation (and
  the clamp), as the residual paths use it."""
  features: int
  kernel: int
  use_bias: bool = True
  activation: str = 'linear'
  up: int = 1
  down: int = 1
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, gain: float = 1.0):
    fan_in = x.shape[-1] * self.kernel ** 2
    weight = self.param('weight', nn.initializers.normal(1.0),
                        (self.features, x.shape[-1], self.kernel, self.kernel))
    bias = self.param('bias', nn.initializers.zeros, (self.features,)) if self.use_bias else None
    x = conv2d_resample(x, weight / math.sqrt(fan_in), setup_filter(), up=self.up, down=self.down,
                        padding=self.kernel // 2, flip_weight=self.up == 1)
    act_gain = (LRELU_GAIN if self.activation == 'lrelu' else 1.0) * gain
    clamp = None if self.conv_clamp is None else self.conv_clamp * gain
    return bias_act(x, bias, self.activation, act_gain, clamp)


# ---------------------------------------------------------------- generator

class Mapping(nn.Module):
  """`MappingNetwork`: (z, one-hot c) -> w, broadcast to `num_ws` copies (None: one w)."""
  z_dim: int
  c_dim: int
  w_dim: int
  num_ws: int | None
  num_layers: int = 8
  embed_features: int | None = None
  layer_features: int | None = None
  lr_multiplier: float = 0.01
  w_avg_beta: float | None = 0.995

  @nn.compact
  def __call__(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
               update_w_avg: bool = True):
    parts = []
    if self.z_dim:
      parts.append(normalize_2nd_moment(z.astype(jnp.float32)))
    if self.c_dim:
      embed = FullyConnected(self.embed_features or self.w_dim, name='embed')
      parts.append(normalize_2nd_moment(embed(c.astype(jnp.float32))))
    x = jnp.concatenate(parts, axis=1)
    for i in range(self.num_layers):
      features = self.w_dim if i == self.num_layers - 1 else (self.layer_features or self.w_dim)
      x = FullyConnected(features, 'lrelu', self.lr_multiplier, name=f'fc{i}')(x)
    if self.num_ws is None or self.w_avg_beta is None:
      return x
    w_avg = self.variable('buffers', 'w_avg', jnp.zeros, (self.w_dim,), jnp.float32)
    if update_w_avg and self.is_mutable_collection('buffers') and not self.is_initializing():
      mean = lax.stop_gradient(x).mean(0)
      w_avg.value = mean + self.w_avg_beta * (w_avg.value - mean)  # mean.lerp(w_avg, beta)
    ws = jnp.repeat(x[:, None], self.num_ws, axis=1)
    if truncation_psi != 1:
      cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
      truncated = w_avg.value + truncation_psi * (ws[:, :cutoff] - w_avg.value)
      ws = ws.at[:, :cutoff].set(truncated)
    return ws


class SynthesisLayer(nn.Module):
  """`SynthesisLayer`: an affine map of w to styles (bias 1), the modulated 3x3 convolution
  (upsampling when `up`), noise (random, the layer's constant, or none) times a learned
  strength, bias and leaky ReLU."""
  features: int
  resolution: int
  up: int = 1
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, w, noise_mode: str = 'random'):
    in_channels = x.shape[-1]
    styles = FullyConnected(in_channels, bias_init=1.0, name='affine')(w)
    weight = self.param('weight', nn.initializers.normal(1.0),
                        (self.features, in_channels, 3, 3))
    noise_const = self.variable('buffers', 'noise_const', lambda: jax.random.normal(
        self.make_rng('params'), (self.resolution, self.resolution)))
    strength = self.param('noise_strength', nn.initializers.zeros, ())
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    noise = None
    if noise_mode == 'random':
      noise = jax.random.normal(self.make_rng('noise'),
                                (x.shape[0], self.resolution, self.resolution, 1)) * strength
    elif noise_mode == 'const':
      noise = (noise_const.value * strength)[None, :, :, None]
    x = modulated_conv2d(x, weight, styles, noise, up=self.up, padding=1,
                         resample_filter=setup_filter(), flip_weight=self.up == 1)
    return bias_act(x, bias, 'lrelu', clamp=self.conv_clamp)


class ToRGB(nn.Module):
  """`ToRGBLayer`: a modulated 1x1 convolution without demodulation, and a bias."""
  channels: int
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, w):
    in_channels = x.shape[-1]
    styles = FullyConnected(in_channels, bias_init=1.0, name='affine')(w) / math.sqrt(in_channels)
    weight = self.param('weight', nn.initializers.normal(1.0), (self.channels, in_channels, 1, 1))
    bias = self.param('bias', nn.initializers.zeros, (self.channels,))
    x = modulated_conv2d(x, weight, styles, demodulate=False)
    return bias_act(x, bias, clamp=self.conv_clamp)


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
  return min(channel_base // resolution, channel_max)


class SynthesisBlock(nn.Module):
  """`SynthesisBlock`, 'skip' architecture: the constant (first block) or an upsampling
  modulated convolution, a second one, and a ToRGB added to the upsampled image so far."""
  features: int
  resolution: int
  channels: int
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, image, ws, noise_mode: str = 'random'):
    """`ws`: this block's [n, 3, w_dim] (2 for the first block): its convolutions', then its
    ToRGB's."""
    if x is None:
      const = self.param('const', nn.initializers.normal(1.0),
                         (self.features, self.resolution, self.resolution))
      x = jnp.broadcast_to(const.transpose(1, 2, 0)[None], (ws.shape[0], *const.shape[1:],
                                                            self.features))
    else:
      x = SynthesisLayer(self.features, self.resolution, up=2, conv_clamp=self.conv_clamp,
                         name='conv0')(x, ws[:, 0], noise_mode)
      ws = ws[:, 1:]
    x = SynthesisLayer(self.features, self.resolution, conv_clamp=self.conv_clamp,
                       name='conv1')(x, ws[:, 0], noise_mode)
    rgb = ToRGB(self.channels, self.conv_clamp, name='torgb')(x, ws[:, 1]).astype(jnp.float32)
    return x, (rgb if image is None else upsample2d(image, setup_filter()) + rgb)


class Synthesis(nn.Module):
  """`SynthesisNetwork`: ws [n, num_ws, w_dim] -> images [n, resolution, resolution, channels]
  (float32). Block b uses ws [2b - 1, 2b + 1] (its ToRGB shares the next block's first)."""
  resolution: int
  channels: int
  channel_base: int = 32768
  channel_max: int = 512
  conv_clamp: float | None = None

  @property
  def block_resolutions(self) -> list[int]:
    return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

  @property
  def num_ws(self) -> int:
    """Two per block (one for the 4x4 block) and the last ToRGB's."""
    return 2 * len(self.block_resolutions)

  @nn.compact
  def __call__(self, ws, noise_mode: str = 'random'):
    x = image = None
    first = 0
    for res in self.block_resolutions:
      num_conv = 1 if res == 4 else 2
      block = SynthesisBlock(channels_at(res, self.channel_base, self.channel_max), res,
                             self.channels, self.conv_clamp, name=f'b{res}')
      x, image = block(x, image, ws[:, first:first + num_conv + 1], noise_mode)
      first += num_conv
    return image


class Generator(nn.Module):
  """`Generator`: z [n, z_dim] (and int labels) -> images in about [-1, 1], NHWC.

  `style_mixing_prob`: in training (see the module docstring), with this probability a second
  latent's w replaces the first's from a random layer on (`StyleGAN2Loss.run_G`); its draws
  come from the Flax RNG stream 'noise', like the noise inputs."""
  resolution: int
  channels: int = 3
  z_dim: int = 512
  w_dim: int = 512
  num_classes: int = 0
  mapping_layers: int = 8
  channel_base: int = 32768
  channel_max: int = 512
  conv_clamp: float | None = None
  style_mixing_prob: float = 0.0
  w_avg_beta: float = 0.995

  def setup(self):
    self.synthesis = Synthesis(self.resolution, self.channels, self.channel_base,
                               self.channel_max, self.conv_clamp)
    self.mapping = Mapping(self.z_dim, self.num_classes, self.w_dim, self.synthesis.num_ws,
                           self.mapping_layers, w_avg_beta=self.w_avg_beta)

  def map(self, z, labels=None, truncation_psi: float = 1.0,
          truncation_cutoff: int | None = None):
    """ws [n, num_ws, w_dim]; in training, style-mixed."""
    c = None if not self.num_classes else jax.nn.one_hot(labels, self.num_classes)
    ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
    if self.style_mixing_prob > 0 and self.is_mutable_collection('buffers') \
        and not self.is_initializing():
      key = self.make_rng('noise')
      k_cut, k_mix, k_z = jax.random.split(key, 3)
      num_ws = ws.shape[1]
      cutoff = jax.random.randint(k_cut, (), 1, num_ws)
      cutoff = jnp.where(jax.random.uniform(k_mix) < self.style_mixing_prob, cutoff, num_ws)
      other = self.mapping(jax.random.normal(k_z, z.shape, z.dtype), c, update_w_avg=False)
      ws = jnp.where(jnp.arange(num_ws)[None, :, None] < cutoff, ws, other)
    return ws

  def synthesize(self, ws, labels=None, noise_mode: str = 'random'):
    del labels  # the labels act through the mapping network
    return self.synthesis(ws, noise_mode)

  def __call__(self, z, labels=None, truncation_psi: float = 1.0,
               truncation_cutoff: int | None = None, noise_mode: str = 'random'):
    return self.synthesize(self.map(z, labels, truncation_psi, truncation_cutoff),
                           noise_mode=noise_mode)


# ---------------------------------------------------------------- discriminator

class DiscriminatorBlock(nn.Module):
  """`DiscriminatorBlock`: FromRGB (first block), two 3x3 convolutions, the second halving the
  size, and for 'resnet' a 1x1 downsampling skip, the sum scaled by sqrt(1/2)."""
  features: int
  out_features: int
  first: bool
  architecture: str = 'resnet'
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, img):
    if self.first:
      x = Conv(self.features, 1, activation='lrelu', conv_clamp=self.conv_clamp,
               name='fromrgb')(img.astype(jnp.float32))
    if self.architecture == 'resnet':
      y = Conv(self.out_features, 1, use_bias=False, down=2, name='skip')(x, math.sqrt(0.5))
      x = Conv(self.features, 3, activation='lrelu', conv_clamp=self.conv_clamp, name='conv0')(x)
      x = Conv(self.out_features, 3, activation='lrelu', down=2, conv_clamp=self.conv_clamp,
               name='conv1')(x, math.sqrt(0.5))
      return y + x
    x = Conv(self.features, 3, activation='lrelu', conv_clamp=self.conv_clamp, name='conv0')(x)
    return Conv(self.out_features, 3, activation='lrelu', down=2, conv_clamp=self.conv_clamp,
                name='conv1')(x)


class DiscriminatorEpilogue(nn.Module):
  """`DiscriminatorEpilogue` at 4x4: minibatch standard deviation, a 3x3 convolution, two fully
  connected layers; with a label map `cmap`, the projection onto it."""
  features: int
  cmap_dim: int = 0
  mbstd_group_size: int | None = 4
  mbstd_num_channels: int = 1
  conv_clamp: float | None = None

  @nn.compact
  def __call__(self, x, cmap=None):
    if self.mbstd_num_channels:
      x = minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_channels)
    x = Conv(self.features, 3, activation='lrelu', conv_clamp=self.conv_clamp, name='conv')(x)
    x = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)  # flattened as NCHW, the reference's
    x = FullyConnected(self.features, 'lrelu', name='fc')(x)
    x = FullyConnected(self.cmap_dim or 1, name='out')(x)
    if self.cmap_dim:
      x = (x * cmap).sum(1, keepdims=True) / math.sqrt(self.cmap_dim)
    return x


class Discriminator(nn.Module):
  """`Discriminator`: images NHWC (and int labels) -> logits [n] (the reference's [n, 1],
  flattened as jaxgan's discriminators return them). `architecture` 'resnet' (the reference's
  default) or 'orig' (its cifar configuration)."""
  resolution: int
  channels: int = 3
  num_classes: int = 0
  architecture: str = 'resnet'
  channel_base: int = 32768
  channel_max: int = 512
  conv_clamp: float | None = None
  mbstd_group_size: int | None = 4
  mbstd_num_channels: int = 1
  cmap_dim: int | None = None
  mapping_layers: int = 8

  @nn.compact
  def __call__(self, img, labels=None, train: bool = True, update_stats: bool = False):
    del train, update_stats  # no dropout, no statistics
    ch = lambda res: channels_at(res, self.channel_base, self.channel_max)
    x = None
    for res in [2 ** i for i in range(int(math.log2(self.resolution)), 2, -1)]:
      x = DiscriminatorBlock(ch(res), ch(res // 2), x is None, self.architecture,
                             self.conv_clamp, name=f'b{res}')(x, img)
    cmap_dim, cmap = ((self.cmap_dim or ch(4)) if self.num_classes else 0), None
    if cmap_dim:
      cmap = Mapping(0, self.num_classes, cmap_dim, None, self.mapping_layers, w_avg_beta=None,
                     name='mapping')(None, jax.nn.one_hot(labels, self.num_classes))
    return DiscriminatorEpilogue(ch(4), cmap_dim, self.mbstd_group_size, self.mbstd_num_channels,
                                 self.conv_clamp, name='b4')(x, cmap)[:, 0]


def discriminator_layers(resolution: int, architecture: str = 'resnet') -> list[tuple[str, str]]:
  """The discriminator's block layers as (block, layer), in the order the reference numbers them
  for Freeze-D (`DiscriminatorBlock`'s `freeze_layers`: from the input's resolution down,
  fromrgb, conv0, conv1, skip); the 4x4 epilogue is never frozen."""
  layers = []
  for res in [2 ** i for i in range(int(math.log2(resolution)), 2, -1)]:
    names = (['fromrgb'] if res == resolution else []) + ['conv0', 'conv1']
    layers += [(f'b{res}', name) for name in names + (['skip'] if architecture == 'resnet'
                                                      else [])]
  return layers
