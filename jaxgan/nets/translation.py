"""Image-to-image translation networks: pix2pix's U-Net, CycleGAN's ResNet generator, PatchGAN.

Layer for layer junyanz/pytorch-CycleGAN-and-pix2pix's `models/networks.py` (`UnetGenerator`
with `UnetSkipConnectionBlock`, `ResnetGenerator` with `ResnetBlock`, `NLayerDiscriminator`):
the same convolutions (kernel, stride, padding), biases only where the reference has them (none
before a batch norm), reflection padding, and its normalizations: `BatchNorm` (affine, eps 1e-5,
running statistics with momentum 0.1 and the unbiased variance, as torch's `BatchNorm2d`) and
`instance_norm` (`InstanceNorm2d(affine=False)`: no parameters, no running statistics). Weights
are initialised as the reference's `init_weights('normal', 0.02)`: N(0, 0.02) kernels, zero
biases, batch norm scales N(1, 0.02). Images are NHWC; the discriminator returns its patch
logits, `(N, h, w)`.

In the reference's U-Net blocks an in-place `LeakyReLU` also rewrites the input that the skip
connection concatenates; the next layer on the skip is a ReLU, and relu(leaky_relu(x)) =
relu(x), so the plain skip here computes the same.

`train` selects batch statistics (and updates the running ones, with `update_stats`) and turns
dropout on; pix2pix's own test script runs its networks so too (it never calls `eval()` unless
asked), dropout being the generator's only noise. `tests/test_translation.py` matches every
network with the reference's on recorded weights (`tools/record_translation.py`).
"""

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from jaxgan.nets.layers import NHWC_HWIO, conv_for_backend, conv_transpose_by_phases

REFERENCE_INIT = nn.initializers.normal(0.02)  # init_weights(net, 'normal', gain=0.02)
NORMS = ('batch', 'instance', 'none')


def _scale_init(key, shape, dtype=jnp.float32):
  """Batch norm scales as the reference initialises them: N(1, 0.02)."""
  return 1.0 + REFERENCE_INIT(key, shape, dtype)


def conv(features: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True,
         dtype: Any = None, name: str | None = None) -> nn.Conv:
  """torch's `Conv2d(k, stride, padding)` (zero padding) with the reference's initialisation."""
  return nn.Conv(features, (kernel, kernel), (stride, stride), ((padding, padding),) * 2,
                 use_bias=bias, dtype=dtype, kernel_init=REFERENCE_INIT,
                 conv_general_dilated=conv_for_backend(), name=name)


class ConvTranspose(nn.Module):
  """torch's `ConvTranspose2d(k, stride, padding, output_padding)`: the kernel `(k, k, in,
  out)` is torch's weight `(in, out, k, k)` transposed, unflipped. The output is
  `stride * (H - 1) - 2 * padding + k + output_padding` wide: the input dilated by `stride`,
  padded by `k - 1 - padding` before and that plus `output_padding` after, convolved with the
  flipped kernel; computed by phases as the DCGAN layers (`conv_transpose_by_phases`) where
  that padding allows (pix2pix's and CycleGAN's)."""

  features: int
  kernel_size: int
  strides: int = 2
  padding: int = 1
  output_padding: int = 0
  use_bias: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.strides
    kernel = self.param('kernel', REFERENCE_INIT, (k, k, x.shape[-1], self.features))
    x, kernel = nn.dtypes.promote_dtype(x, kernel, dtype=self.dtype)
    flipped = kernel[::-1, ::-1]
    before, after = k - 1 - self.padding, k - 1 - self.padding + self.output_padding
    # With the kernel zero-padded in front to a multiple of the stride, torch's padding may be
    # 'SAME''s for the longer kernel (pix2pix's k4 s2 p1 as it is, CycleGAN's k3 s2 p1 op1 with
    # one zero): then by phases, as the DCGAN layers.
    extra = -k % s
    same = (k + extra + s - 2) // 2
    if (k + extra + s) % 2 == 0 and before + extra == after == same:
      y = conv_transpose_by_phases(x, jnp.pad(flipped, ((extra, 0), (extra, 0), (0, 0), (0, 0))),
                                   s)
    else:
      y = lax.conv_general_dilated(x, flipped, (1, 1), ((before, after),) * 2,
                                   lhs_dilation=(s, s), dimension_numbers=NHWC_HWIO)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros_init(), (self.features,))
    return y


class BatchNorm(nn.Module):
  """torch's `BatchNorm2d` (affine): batch statistics when training (the biased variance
  normalizes), running ones otherwise; the running variance tracks the unbiased variance with
  momentum 0.1 (torch's update, which Flax's `BatchNorm` makes with the biased one)."""

  momentum: float = 0.1
  epsilon: float = 1e-5
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train: bool, update_stats: bool = False):
    c = x.shape[-1]
    scale = self.param('scale', _scale_init, (c,))
    bias = self.param('bias', nn.initializers.zeros_init(), (c,))
    mean = self.variable('batch_stats', 'mean', jnp.zeros, (c,), jnp.float32)
    var = self.variable('batch_stats', 'var', jnp.ones, (c,), jnp.float32)
    if train:
      x32 = x.astype(jnp.float32)
      m = x32.mean((0, 1, 2))
      v = jnp.square(x32 - m).mean((0, 1, 2))
      if update_stats and not self.is_initializing():
        count = x.shape[0] * x.shape[1] * x.shape[2]
        mean.value = (1 - self.momentum) * mean.value + self.momentum * m
        var.value = ((1 - self.momentum) * var.value
                     + self.momentum * v * count / max(count - 1, 1))
    else:
      m, v = mean.value, var.value
    y = (x.astype(jnp.float32) - m) * lax.rsqrt(v + self.epsilon) * scale + bias
    return y.astype(self.dtype or x.dtype)


def instance_norm(x, epsilon: float = 1e-5):
  """torch's `InstanceNorm2d(affine=False)`: each sample's channel normalized over its pixels."""
  x32 = x.astype(jnp.float32)
  m = x32.mean((1, 2), keepdims=True)
  v = jnp.square(x32 - m).mean((1, 2), keepdims=True)
  return ((x32 - m) * lax.rsqrt(v + epsilon)).astype(x.dtype)


class _Norm(nn.Module):
  """The reference's `norm_layer` by name: 'batch', 'instance' or 'none'."""

  kind: str
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train: bool, update_stats: bool):
    if self.kind == 'batch':
      return BatchNorm(dtype=self.dtype, name='bn')(x, train, update_stats)
    if self.kind == 'instance':
      return instance_norm(x)
    return x


def _check_norm(norm: str):
  if norm not in NORMS:
    raise ValueError(f'unknown norm {norm!r}; known: {", ".join(NORMS)}')


def _reflect(x, pad: int):
  return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode='reflect')


class UNetGenerator(nn.Module):
  """pix2pix's `UnetGenerator(input_nc, output_nc, num_downs, ngf, norm_layer, use_dropout)`.

  `num_downs` halvings (8 for 256x256: `unet_256`; 7: `unet_128`) to a 1x1 bottleneck and back,
  with skip connections; level i (0 outermost) has ngf * min(2^i, 8) inner channels; the levels
  between the fourth and the innermost drop out half their units (`dropout`). Layers are named
  by level: `down{i}`, `down_norm{i}`, `up{i}`, `up_norm{i}`.
  """

  channels: int = 3
  num_downs: int = 8
  ngf: int = 64
  norm: str = 'batch'
  dropout: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, source, *, train: bool = True, update_stats: bool = False):
    _check_norm(self.norm)
    if self.num_downs < 5:
      raise ValueError(f'num_downs must be at least 5 (the reference\'s), not {self.num_downs}')
    if source.shape[1] % 2 ** self.num_downs:
      raise ValueError(f'a U-Net with num_downs={self.num_downs} needs images whose side is a '
                       f'multiple of {2 ** self.num_downs}, not {source.shape[1]}')
    bias = self.norm == 'instance'  # the reference: use_bias = norm_layer is InstanceNorm2d
    last = self.num_downs - 1
    inner = lambda i: self.ngf * min(2 ** i, 8)
    norm = lambda i, x, name: _Norm(self.norm, self.dtype, name=f'{name}{i}')(
        x, train, update_stats)

    def level(i, x):
      h = x if i == 0 else nn.leaky_relu(x, 0.2)
      h = conv(inner(i), 4, 2, 1, bias=bias, dtype=self.dtype, name=f'down{i}')(h)
      if 0 < i < last:
        h = norm(i, h, 'down_norm')
      if i < last:
        h = level(i + 1, h)
      h = nn.relu(h)
      if i == 0:
        h = ConvTranspose(self.channels, 4, dtype=self.dtype, name='up0')(h)
        return jnp.tanh(h.astype(jnp.float32))
      h = ConvTranspose(inner(i - 1), 4, use_bias=bias, dtype=self.dtype, name=f'up{i}')(h)
      h = norm(i, h, 'up_norm')
      if self.dropout and 4 <= i < last:
        h = nn.Dropout(0.5, deterministic=not train)(h)
      return jnp.concatenate([x, h], axis=-1)

    return level(0, source)


class ResnetGenerator(nn.Module):
  """CycleGAN's `ResnetGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, n_blocks)`:
  a reflection-padded 7x7 convolution, two stride-2 convolutions, `blocks` residual blocks
  (reflection padding, two 3x3 convolutions; 9: `resnet_9blocks` for 256x256, 6:
  `resnet_6blocks`), two transposed convolutions (k3 s2 p1, output padding 1), a 7x7
  convolution and tanh. Layers: `stem`, `down{i}`, `block{b}_conv{j}`, `up{i}`, `out` (norms
  beside them as `*_norm`)."""

  channels: int = 3
  blocks: int = 9
  ngf: int = 64
  norm: str = 'instance'
  dropout: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, source, *, train: bool = True, update_stats: bool = False):
    _check_norm(self.norm)
    bias = self.norm == 'instance'
    norm = lambda x, name: _Norm(self.norm, self.dtype, name=name)(x, train, update_stats)
    x = conv(self.ngf, 7, bias=bias, dtype=self.dtype, name='stem')(_reflect(source, 3))
    x = nn.relu(norm(x, 'stem_norm'))
    for i in range(2):
      x = conv(self.ngf * 2 ** (i + 1), 3, 2, 1, bias=bias, dtype=self.dtype, name=f'down{i}')(x)
      x = nn.relu(norm(x, f'down{i}_norm'))
    width = self.ngf * 4
    for b in range(self.blocks):
      h = conv(width, 3, bias=bias, dtype=self.dtype, name=f'block{b}_conv0')(_reflect(x, 1))
      h = nn.relu(norm(h, f'block{b}_norm0'))
      if self.dropout:
        h = nn.Dropout(0.5, deterministic=not train)(h)
      h = conv(width, 3, bias=bias, dtype=self.dtype, name=f'block{b}_conv1')(_reflect(h, 1))
      x = x + norm(h, f'block{b}_norm1')
    for i in range(2):
      x = ConvTranspose(width // 2 ** (i + 1), 3, 2, 1, 1, use_bias=bias, dtype=self.dtype,
                        name=f'up{i}')(x)
      x = nn.relu(norm(x, f'up{i}_norm'))
    x = conv(self.channels, 7, dtype=self.dtype, name='out')(_reflect(x, 3))
    return jnp.tanh(x.astype(jnp.float32))


class PatchDiscriminator(nn.Module):
  """The reference's PatchGAN, `NLayerDiscriminator(input_nc, ndf, n_layers, norm_layer)`:
  4x4 convolutions, `n_layers` of them with stride 2 (ndf * min(2^n, 8) channels), one with
  stride 1, then one to a logit per patch (70x70 patches of a 256x256 image at n_layers 3).
  Called `D(x, condition=None, train=...)`: a conditional (pix2pix) discriminator sees the
  condition and the image concatenated on channels, condition first, as the reference's
  `torch.cat((real_A, fake_B), 1)`. Returns `(N, h, w)` logits."""

  n_layers: int = 3
  ndf: int = 64
  norm: str = 'batch'
  dtype: Any = None

  @nn.compact
  def __call__(self, x, condition=None, *, train: bool = True, update_stats: bool = False):
    _check_norm(self.norm)
    if condition is not None:
      x = jnp.concatenate([condition.astype(x.dtype), x], axis=-1)
    bias = self.norm == 'instance'
    x = nn.leaky_relu(conv(self.ndf, 4, 2, 1, dtype=self.dtype, name='conv0')(x), 0.2)
    for n in range(1, self.n_layers + 1):
      stride = 2 if n < self.n_layers else 1
      x = conv(self.ndf * min(2 ** n, 8), 4, stride, 1, bias=bias, dtype=self.dtype,
               name=f'conv{n}')(x)
      x = _Norm(self.norm, self.dtype, name=f'norm{n}')(x, train, update_stats)
      x = nn.leaky_relu(x, 0.2)
    x = conv(1, 4, 1, 1, dtype=self.dtype, name=f'conv{self.n_layers + 1}')(x)
    return x[..., 0].astype(jnp.float32)


def parameter_count(module: nn.Module, shape: tuple[int, ...], **kwargs) -> int:
  """Trained parameters of `module` on inputs of `shape` (batch statistics not counted, as torch
  counts only `parameters()`), from shapes alone."""
  variables = jax.eval_shape(lambda: module.init(
      jax.random.key(0), jnp.zeros(shape), train=False, **kwargs))
  return sum(leaf.size for leaf in jax.tree.leaves(variables['params']))


__all__ = ['BatchNorm', 'ConvTranspose', 'PatchDiscriminator', 'ResnetGenerator',
           'UNetGenerator', 'conv', 'instance_norm', 'parameter_count']
