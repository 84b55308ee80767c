"""R3GAN's networks (Huang et al. 2024) as brownvc/R3GAN defines them (`R3GAN/Networks.py`,
`R3GAN/Resamplers.py`, `R3GAN/FusedOperators.py`), in Flax, images NHWC.

A modern ConvNet without normalization: stages of residual inverted bottlenecks (a 1x1
convolution widening by `expansion`, a grouped KxK convolution of `cardinality` groups, a 1x1
back, each of the first two followed by a bias and leaky ReLU 0.2), fix-up initialised (the
last convolution of each block starts at zero, the others' gain scaled by L^-1/4 for L blocks
in all), resampled by the [1, 2, 1] filter's interpolation ([1, 3, 3, 1] after the hold). The
generator starts from a learned 4x4 basis times a linear map of the latent; the discriminator
ends in a depthwise 4x4 basis and a linear map. Class conditioning: the generator's latent
concatenated with an embedding of the one-hot label, the discriminator's output the dot product
of its last features with an embedding of the label.

Parameters keep the reference's names and layouts (`MainLayers_1/Layers_2/LinearLayer2/Layer/
weight` is the state dict's `MainLayers.1.Layers.2.LinearLayer2.Layer.weight`, [out, in / groups,
k, k]; linear weights [out, in]), so a state dict converts by its names alone. A stage listed in
`bfloat16_stages` computes in bfloat16 as the reference's `FP16Stages` do (its weights cast to
the stage's input).
"""

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from jaxgan.nets.layers import matmul_conv, upfirdn2d
from jaxgan.nets.stylegan2 import setup_filter, upsample2d

LRELU_SLOPE = 0.2
# FusedOperators.BiasedActivation.Gain: the leaky ReLU's variance gain, which the fix-up
# initialisation scales the widening convolutions by
ACTIVATION_GAIN = math.sqrt(2 / (1 + LRELU_SLOPE ** 2))
RESAMPLING_FILTER = (1, 2, 1)
LINEAR_LAYERS_PER_BLOCK = 3


def lowpass_taps(taps: Sequence[int] = RESAMPLING_FILTER) -> tuple[float, ...]:
  """`CreateLowpassKernel(taps, Inplace=False)`'s separable taps: `taps` convolved with the
  hold [1, 1] ([1, 2, 1] -> [1, 3, 3, 1])."""
  out = [0.0] * (len(taps) + 1)
  for i, tap in enumerate(taps):
    out[i] += tap
    out[i + 1] += tap
  return tuple(out)


def downsample2d(x, f):
  """`upfirdn2d.downsample2d`: half the size, the filter applied before keeping every second
  pixel."""
  fw = f.shape[0]
  p0, p1 = (fw - 1) // 2, (fw - 2) // 2
  return upfirdn2d(x, f, down=2, padding=(p0, p1, p0, p1))


def msr_normal(gain: float, fan_in: int):
  """`MSRInitializer`: N(0, gain / sqrt(fan_in)); a gain of 0 starts the weight at zero."""
  return lambda key, shape: jax.random.normal(key, shape) * (gain / math.sqrt(fan_in))


class Weight(nn.Module):
  """A torch layer's `weight`, as its own module so the parameter's path is the state dict's
  (`Convolution.Layer.weight`)."""
  shape: tuple[int, ...]
  gain: float
  fan_in: int

  @nn.compact
  def __call__(self):
    return self.param('weight', msr_normal(self.gain, self.fan_in), self.shape)


CPU_DENSE_GROUPS = 8  # on CPU, grouped convolutions of at most this many groups run dense


def conv2d(x, weight, groups: int = 1, padding: int = 0, algorithm: str = 'auto'):
  """torch's `conv2d` (a correlation, stride 1) on NHWC `x` with an [out, in / groups, k, k]
  weight, by `algorithm`:
    'xla'    XLA's grouped convolution (what 'auto' picks on GPU and TPU);
    'dense'  one ordinary convolution with the groups' weights on a block diagonal (`groups`
             times the multiplications, as `jaxgan.nets.layers.matmul_conv`'s matrix products);
    'taps'   a sum over the kernel's taps of shifted inputs times each group's matrix;
    'auto'   on CPU 'dense' up to CPU_DENSE_GROUPS groups, else 'taps': XLA:CPU runs its own
             grouped convolution, and differentiates it twice for R1 and R2, many times slower.
  """
  weight = weight.astype(x.dtype)
  if algorithm == 'auto':
    algorithm = ('xla' if jax.default_backend() != 'cpu' else
                 'dense' if groups <= CPU_DENSE_GROUPS else 'taps')
  out_channels, group_in, k, _ = weight.shape
  by_group = weight.reshape(groups, out_channels // groups, group_in, k, k)
  if algorithm == 'xla':
    return lax.conv_general_dilated(x, weight, (1, 1), [(padding, padding)] * 2,
                                    dimension_numbers=('NHWC', 'OIHW', 'NHWC'),
                                    feature_group_count=groups)
  if algorithm == 'dense':
    hwio = jnp.einsum('goikl,gh->klgiho', by_group, jnp.eye(groups, dtype=weight.dtype))
    return matmul_conv(x, hwio.reshape(k, k, groups * group_in, out_channels), (1, 1),
                       [(padding, padding)] * 2, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  if algorithm != 'taps':
    raise ValueError(f"unknown algorithm {algorithm!r}: 'auto', 'xla', 'dense' or 'taps'")
  n, h, w, _ = x.shape
  out_h, out_w = h + 2 * padding - k + 1, w + 2 * padding - k + 1
  x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  out = 0.0
  for i in range(k):
    for j in range(k):
      taps = x[:, i:i + out_h, j:j + out_w].reshape(n, out_h, out_w, groups, group_in)
      out = out + jnp.einsum('nhwgc,goc->nhwgo', taps, by_group[..., i, j],
                             preferred_element_type=jnp.float32)
  return out.reshape(n, out_h, out_w, out_channels).astype(x.dtype)


def linear(x, weight):
  """torch's `Linear` without bias: x @ weight^T, weight [out, in]."""
  return x @ weight.T.astype(x.dtype)


class Convolution(nn.Module):
  """`Networks.Convolution`: a KxK convolution without bias, 'same' padding, `groups` groups,
  MSR-initialised at `gain`."""
  features: int
  kernel: int = 1
  groups: int = 1
  gain: float = 1.0

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1] // self.groups * self.kernel ** 2
    weight = Weight((self.features, x.shape[-1] // self.groups, self.kernel, self.kernel),
                    self.gain, fan_in, name='Layer')()
    return conv2d(x, weight, self.groups, (self.kernel - 1) // 2)


class BiasedActivation(nn.Module):
  """`FusedOperators.BiasedActivation`: a bias (initialised to zero) then leaky ReLU 0.2, no
  gain."""

  @nn.compact
  def __call__(self, x):
    bias = self.param('Bias', nn.initializers.zeros, (x.shape[-1],))
    return jax.nn.leaky_relu(x + bias.astype(x.dtype), LRELU_SLOPE)


class ResidualBlock(nn.Module):
  """`Networks.ResidualBlock`: x + 1x1(act(grouped KxK(act(1x1(x))))), the inner width
  `expansion` times the input's; `blocks`: every block of the network (the fix-up's L)."""
  cardinality: int
  expansion: int
  kernel: int
  blocks: int

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    expanded = channels * self.expansion
    gain = ACTIVATION_GAIN * self.blocks ** (-1 / (2 * LINEAR_LAYERS_PER_BLOCK - 2))
    y = Convolution(expanded, 1, gain=gain, name='LinearLayer1')(x)
    y = Convolution(expanded, self.kernel, self.cardinality, gain,
                    name='LinearLayer2')(BiasedActivation(name='NonLinearity1')(y))
    y = Convolution(channels, 1, gain=0.0, name='LinearLayer3')(
        BiasedActivation(name='NonLinearity2')(y))
    return x + y


class GenerativeBasis(nn.Module):
  """`Networks.GenerativeBasis`: a learned [features, 4, 4] basis (N(0, 1)) scaled per channel
  by a linear map of the latent."""
  features: int

  @nn.compact
  def __call__(self, x):
    basis = self.param('Basis', nn.initializers.normal(1.0), (self.features, 4, 4))
    weight = Weight((self.features, x.shape[-1]), 1.0, x.shape[-1], name='LinearLayer')()
    scale = linear(x, weight)
    return jnp.transpose(basis, (1, 2, 0)).astype(x.dtype)[None] * scale[:, None, None, :]


class DiscriminativeBasis(nn.Module):
  """`Networks.DiscriminativeBasis`: a depthwise 4x4 convolution (no padding: 4x4 -> 1x1) and
  a linear map to `features`."""
  features: int

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    basis = Weight((channels, 1, 4, 4), 1.0, 16, name='Basis')()
    x = conv2d(x, basis, groups=channels).reshape(x.shape[0], channels)
    return linear(x, Weight((self.features, channels), 1.0, channels, name='LinearLayer')())


class Resample(nn.Module):
  """`UpsampleLayer` (a 1x1 convolution where the width changes, then 2x up) or
  `DownsampleLayer` (2x down, then the 1x1 convolution)."""
  features: int
  up: bool
  taps: tuple[int, ...] = RESAMPLING_FILTER

  @nn.compact
  def __call__(self, x):
    f = setup_filter(lowpass_taps(self.taps))
    change = (Convolution(self.features, 1, name='LinearLayer') if x.shape[-1] != self.features
              else (lambda x: x))
    if self.up:
      return upsample2d(change(x), f)
    return change(downsample2d(x, f))


def _stage_dtypes(count: int, bfloat16_stages: Sequence[int]) -> list:
  """Each stage's compute dtype; `bfloat16_stages` may count from the end (-1: the last)."""
  chosen = {i % count for i in bfloat16_stages}
  return [jnp.bfloat16 if i in chosen else jnp.float32 for i in range(count)]


class Stage(nn.Module):
  """`Networks.GeneratorStage` (`up`: its transition first, the basis for the first stage, else
  2x up, then `blocks` residual blocks) or `Networks.DiscriminatorStage` (the blocks, then 2x down
  or, for the last stage, the basis), computed in `dtype`; the layers named as the reference's
  `Layers` list."""
  features: int
  cardinality: int
  blocks: int
  expansion: int
  kernel: int
  total_blocks: int
  up: bool
  basis: bool
  dtype: jnp.dtype = jnp.float32
  taps: tuple[int, ...] = RESAMPLING_FILTER

  @nn.compact
  def __call__(self, x):
    x = x.astype(self.dtype)
    at = 0 if self.up else self.blocks  # the transition's place in the list
    if self.basis:
      transition = (GenerativeBasis if self.up else DiscriminativeBasis)(self.features,
                                                                         name=f'Layers_{at}')
    else:
      transition = Resample(self.features, up=self.up, taps=self.taps, name=f'Layers_{at}')
    blocks = [ResidualBlock(self.cardinality, self.expansion, self.kernel, self.total_blocks,
                            name=f'Layers_{i + self.up}') for i in range(self.blocks)]
    for layer in [transition, *blocks] if self.up else [*blocks, transition]:
      x = layer(x)
    return x


class Generator(nn.Module):
  """`Networks.Generator`: G(z[, labels]) -> images in about [-1, 1], NHWC, float32.

  `widths`, `cardinalities`, `blocks`: per stage, from 4x4 up (each later stage doubles the
  size); `num_classes` > 0: conditional, the label's one-hot embedded in `embedding` features
  (the reference's ConditionEmbeddingDimension) and concatenated to z."""
  widths: Sequence[int]
  cardinalities: Sequence[int]
  blocks: Sequence[int]
  expansion: int = 2
  kernel: int = 3
  channels: int = 3
  num_classes: int = 0
  embedding: int = 0
  bfloat16_stages: Sequence[int] = ()
  taps: tuple[int, ...] = RESAMPLING_FILTER

  @nn.compact
  def __call__(self, z, labels=None):
    x = z.astype(jnp.float32)
    if self.num_classes:
      one_hot = jax.nn.one_hot(labels, self.num_classes)
      embed = Weight((self.embedding, self.num_classes), 1.0, self.num_classes,
                     name='EmbeddingLayer')()
      x = jnp.concatenate([x, linear(one_hot, embed)], axis=1)
    dtypes = _stage_dtypes(len(self.widths), self.bfloat16_stages)
    for i, width in enumerate(self.widths):
      x = Stage(width, self.cardinalities[i], self.blocks[i], self.expansion, self.kernel,
                sum(self.blocks), up=True, basis=i == 0, dtype=dtypes[i], taps=tuple(self.taps),
                name=f'MainLayers_{i}')(x)
    return Convolution(self.channels, 1, name='AggregationLayer')(x).astype(jnp.float32)


class Discriminator(nn.Module):
  """`Networks.Discriminator`: D(x[, labels]) -> one logit per image, float32.

  `widths`, `cardinalities`, `blocks`: per stage from the image's size down to 4x4 (the
  reference's train.py reverses the generator's lists); `num_classes` > 0: the output is the dot
  product of `embedding` features with the label's embedding. `train` and `update_stats` are
  accepted for the game's signature; nothing here depends on them."""
  widths: Sequence[int]
  cardinalities: Sequence[int]
  blocks: Sequence[int]
  expansion: int = 2
  kernel: int = 3
  num_classes: int = 0
  embedding: int = 0
  bfloat16_stages: Sequence[int] = ()
  taps: tuple[int, ...] = RESAMPLING_FILTER

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True, update_stats: bool = False):
    del train, update_stats
    count = len(self.widths)
    dtypes = _stage_dtypes(count, self.bfloat16_stages)
    x = Convolution(self.widths[0], 1, name='ExtractionLayer')(x.astype(dtypes[0]))
    for i in range(count):
      last = i == count - 1
      features = (self.embedding if self.num_classes else 1) if last else self.widths[i + 1]
      x = Stage(features, self.cardinalities[i], self.blocks[i], self.expansion, self.kernel,
                sum(self.blocks), up=False, basis=last, dtype=dtypes[i], taps=tuple(self.taps),
                name=f'MainLayers_{i}')(x)
    x = x.astype(jnp.float32)
    if self.num_classes:
      embed = Weight((self.embedding, self.num_classes), 1 / math.sqrt(self.embedding),
                     self.num_classes, name='EmbeddingLayer')()
      x = jnp.sum(x * linear(jax.nn.one_hot(labels, self.num_classes), embed), axis=1,
                  keepdims=True)
    return x.reshape(x.shape[0])


def params_from_state_dict(state: dict) -> dict:
  """Flax parameters from a reference network's state dict (`Model.` stripped or not):
  `MainLayers.1.Layers.2.LinearLayer2.Layer.weight` -> MainLayers_1/Layers_2/LinearLayer2/
  Layer/weight, each a jnp array of the same layout. The resamplers' filter buffers
  (`Resampler.Kernel`, a constant of `taps`) are not parameters and are left out."""
  params = {}
  for key, value in state.items():
    if key.endswith('Resampler.Kernel'):
      continue
    parts, path = key.removeprefix('Model.').split('.'), []
    for part in parts:
      if part.isdigit():
        path[-1] = f'{path[-1]}_{part}'
      else:
        path.append(part)
    node = params
    for part in path[:-1]:
      node = node.setdefault(part, {})
    node[path[-1]] = jnp.asarray(value)
  return params
