"""The Inception-v3 that FID uses, as pytorch-fid 0.3.0 defines it (`pytorch_fid/inception.py`),
in Flax: 2048-d pool3 features of images in [0, 1].

As pytorch-fid computes them: images resized bilinearly to 299x299 (`F.interpolate(...,
mode='bilinear', align_corners=False)`: no antialiasing, also when shrinking), scaled to
[-1, 1], then torchvision's Inception-v3 trunk with the FID blocks patched in: FIDInceptionA, C
and E_1 average-pool without counting the padding (TensorFlow's pooling), FIDInceptionE_2
max-pools. Every convolution is followed by batch norm (eps 0.001, running statistics) and ReLU.

The weights are pytorch-fid's file `pt_inception-2015-12-05-6726825d.pth` (a PyTorch state dict,
from https://github.com/mseitzer/pytorch-fid/releases). Convert it once, with torch installed:
  python -m jaxgan.evaluate.inception pt_inception-2015-12-05-6726825d.pth inception_fid.npz
and give the .npz to jaxgan (`load_weights`): it is read with numpy, without torch or pickle. The
parameters keep the state dict's names (`Mixed_5b/branch1x1/conv/kernel`, ...): kernels in
Flax's (h, w, in, out) layout, batch norm as `scale`, `bias`, `mean`, `var`.

The file also holds the classifier pytorch-fid's network carries but never runs (`fc`, 1,008
classes): the Inception Score reads its unbiased logits, pool3 features times `fc.weight`
without the bias, as torch-fidelity's `inception-v3-compat` extractor (`logits_unbiased`) and
NVlabs' metrics compute them (`classifier_logits`).
"""

import functools
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgan.files import written

FEATURES = 2048
CLASSES = 1008  # the 2015 Inception's classifier: ImageNet's 1,000 classes and 8 unused ones
WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'
WEIGHTS_VARIABLE = 'JAXGAN_INCEPTION'  # where jaxgan looks for the converted .npz by default


class WeightsMissing(FileNotFoundError):
  """The converted Inception weights are not where they were looked for."""


class BasicConv(nn.Module):
  """torchvision's BasicConv2d: conv (no bias) -> batch norm (eps 0.001) -> ReLU."""
  features: int
  kernel: tuple[int, int]
  strides: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    (ph, pw) = self.padding
    x = nn.Conv(self.features, self.kernel, self.strides, padding=((ph, ph), (pw, pw)),
                use_bias=False, name='conv')(x)
    scale = self.param('bn_scale', nn.initializers.ones, (self.features,))
    bias = self.param('bn_bias', nn.initializers.zeros, (self.features,))
    mean = self.param('bn_mean', nn.initializers.zeros, (self.features,))
    var = self.param('bn_var', nn.initializers.ones, (self.features,))
    return nn.relu((x - mean) * (scale * jax.lax.rsqrt(var + 1e-3)) + bias)


def _average_pool(x):
  """3x3, stride 1, padding 1, the padding not counted (TensorFlow's; pytorch-fid's patch)."""
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, stride=2, padding=0):
  return nn.max_pool(x, (3, 3), (stride, stride), ((padding, padding), (padding, padding)))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, (1, 1), name='branch1x1')(x)
    b5 = BasicConv(48, (1, 1), name='branch5x5_1')(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv(64, (1, 1), name='branch3x3dbl_1')(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    pool = BasicConv(self.pool_features, (1, 1), name='branch_pool')(_average_pool(x))
    return jnp.concatenate([b1, b5, b3, pool], -1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), strides=2, name='branch3x3')(x)
    dbl = BasicConv(64, (1, 1), name='branch3x3dbl_1')(x)
    dbl = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(dbl)
    dbl = BasicConv(96, (3, 3), strides=2, name='branch3x3dbl_3')(dbl)
    return jnp.concatenate([b3, dbl, _max_pool(x)], -1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    b1 = BasicConv(192, (1, 1), name='branch1x1')(x)
    b7 = BasicConv(c7, (1, 1), name='branch7x7_1')(x)
    b7 = BasicConv(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
    dbl = BasicConv(c7, (1, 1), name='branch7x7dbl_1')(x)
    for i, (features, kernel, padding) in enumerate(
        ((c7, (7, 1), (3, 0)), (c7, (1, 7), (0, 3)), (c7, (7, 1), (3, 0)),
         (192, (1, 7), (0, 3))), start=2):
      dbl = BasicConv(features, kernel, padding=padding, name=f'branch7x7dbl_{i}')(dbl)
    pool = BasicConv(192, (1, 1), name='branch_pool')(_average_pool(x))
    return jnp.concatenate([b1, b7, dbl, pool], -1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, (1, 1), name='branch3x3_1')(x)
    b3 = BasicConv(320, (3, 3), strides=2, name='branch3x3_2')(b3)
    b7 = BasicConv(192, (1, 1), name='branch7x7x3_1')(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv(192, (3, 3), strides=2, name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
  """FIDInceptionE_1 (`max_pool=False`: average pooling) or FIDInceptionE_2 (max pooling)."""
  max_pool: bool = False

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(320, (1, 1), name='branch1x1')(x)
    b3 = BasicConv(384, (1, 1), name='branch3x3_1')(x)
    b3 = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
                          BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)], -1)
    dbl = BasicConv(448, (1, 1), name='branch3x3dbl_1')(x)
    dbl = BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(dbl)
    dbl = jnp.concatenate([BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(dbl),
                           BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(dbl)],
                          -1)
    pooled = _max_pool(x, stride=1, padding=1) if self.max_pool else _average_pool(x)
    pool = BasicConv(192, (1, 1), name='branch_pool')(pooled)
    return jnp.concatenate([b1, b3, dbl, pool], -1)


class FIDInception(nn.Module):
  """Images `(n, h, w, 3)` in [0, 1] -> pool3 features `(n, 2048)`, as pytorch-fid's
  `InceptionV3()` (its default block 3, resize and normalisation on)."""

  @nn.compact
  def __call__(self, images):
    x = jax.image.resize(images.astype(jnp.float32), (images.shape[0], 299, 299, 3),
                         'bilinear', antialias=False)
    x = 2 * x - 1
    x = BasicConv(32, (3, 3), strides=2, name='Conv2d_1a_3x3')(x)
    x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = _max_pool(x)
    x = BasicConv(80, (1, 1), name='Conv2d_3b_1x1')(x)
    x = BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = _max_pool(x)
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    for name, c7 in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE(name='Mixed_7b')(x)
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)
    return x.mean(axis=(1, 2))


_network = jax.jit(FIDInception().apply)  # compiled once per batch shape, not once per call


def pool3_features(params: dict, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
  """`(n, 2048)` features of images in [0, 1] `(n, h, w, c)` (grey images repeated to RGB),
  `batch_size` at a time."""
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  return np.concatenate([np.asarray(_network({'params': params}, images[i:i + batch_size]))
                         for i in range(0, len(images), batch_size)])


def classifier_logits(params: dict, features: np.ndarray) -> np.ndarray:
  """`(n, 1008)` unbiased logits of pool3 features, for the Inception Score: `features @
  fc.weight.T`, the bias left out as torch-fidelity's `logits_unbiased` leaves it out."""
  if 'fc' not in params:
    raise ValueError('these Inception weights have no classifier (fc), which the Inception Score '
                     'needs; convert pytorch-fid\'s state dict again with this version')
  return np.asarray(features, np.float32) @ np.asarray(params['fc']['kernel'], np.float32)


# A torch state dict's names -> the Flax parameter names: `X.conv.weight` -> X/conv/kernel,
# `X.bn.weight` -> X/bn_scale, ...
_BATCH_NORM = {'weight': 'bn_scale', 'bias': 'bn_bias', 'running_mean': 'bn_mean',
               'running_var': 'bn_var'}
_TORCH_BATCH_NORM = {flax: torch for torch, flax in _BATCH_NORM.items()}


def from_state_dict(state_dict: dict[str, np.ndarray]) -> dict:
  """pytorch-fid's state dict (numpy arrays) -> `FIDInception`'s parameters, with the classifier
  as `fc/kernel` (in, out) and `fc/bias`; the batch norms' step counters are left out."""
  params = {}
  for name, value in state_dict.items():
    *path, module, leaf = name.split('.')
    if module == 'fc':
      kernel = leaf == 'weight'
      params.setdefault('fc', {})['kernel' if kernel else 'bias'] = \
          np.asarray(value.T if kernel else value, np.float32)
      continue
    if leaf == 'num_batches_tracked':
      continue
    node = params
    for part in path:
      node = node.setdefault(part, {})
    value = np.asarray(value, np.float32)
    if module == 'conv':
      node.setdefault('conv', {})['kernel'] = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
    else:
      node[_BATCH_NORM[leaf]] = value
  return params


def to_state_dict(params: dict) -> dict[str, np.ndarray]:
  """The inverse of `from_state_dict`: parameters -> a state dict's names and layouts."""
  flat = {}
  for path, value in jax.tree.flatten_with_path(params)[0]:
    *modules, leaf = [str(getattr(p, 'key', p)) for p in path]
    value = np.asarray(value)
    if modules == ['fc']:
      flat[f'fc.{"weight" if leaf == "kernel" else "bias"}'] = value.T if leaf == 'kernel' \
          else value
    elif leaf == 'kernel':
      flat['.'.join(modules) + '.weight'] = value.transpose(3, 2, 0, 1)
    else:
      flat['.'.join([*modules, 'bn', _TORCH_BATCH_NORM[leaf]])] = value
  return flat


@functools.cache
def _parameter_shapes() -> dict:
  """The network's parameter shapes, traced once per process (about 2 s on a CPU)."""
  return jax.eval_shape(FIDInception().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))


def random_params(seed: int = 0) -> dict:
  """Random weights in the real weights' layout, for tests (no download): He-scaled kernels (so
  that the features neither vanish nor explode through the depth) and batch norms near the
  identity, each statistic drawn so that a transposed or misplaced one shows."""
  shapes = _parameter_shapes()
  rng = np.random.default_rng(seed)

  def draw(path, shape):
    leaf = str(getattr(path[-1], 'key', path[-1]))
    if leaf == 'kernel':
      return rng.standard_normal(shape.shape) * np.sqrt(2.0 / np.prod(shape.shape[:3]))
    low, high = {'bn_scale': (0.5, 1.5), 'bn_var': (0.5, 1.5), 'bn_bias': (-0.2, 0.2),
                 'bn_mean': (-0.2, 0.2)}[leaf]
    return rng.uniform(low, high, shape.shape)

  params = jax.tree.map_with_path(lambda path, shape: draw(path, shape).astype(np.float32),
                                  shapes['params'])
  params['fc'] = {'kernel': (rng.standard_normal((FEATURES, CLASSES)) /
                             np.sqrt(FEATURES)).astype(np.float32),
                  'bias': rng.uniform(-1, 1, CLASSES).astype(np.float32)}
  return params


def save_weights(params: dict, path: str | Path) -> None:
  """Parameters -> an .npz of arrays named by their paths (`Mixed_5b/branch1x1/conv/kernel`)."""
  flat = {'/'.join(str(getattr(p, 'key', p)) for p in path): np.asarray(value)
          for path, value in jax.tree.flatten_with_path(params)[0]}
  with written(path) as temporary, open(temporary, 'wb') as file:
    np.savez(file, **flat)


def load_weights(path: str | Path | None = None) -> dict:
  """The converted weights from `path` (default: $JAXGAN_INCEPTION); `WeightsMissing` with what
  to do when there are none."""
  path = path or os.environ.get(WEIGHTS_VARIABLE)
  if not path or not Path(path).is_file():
    where = f'{str(path)!r} does not exist' if path else f'no file given (--inception FILE or ' \
        f'${WEIGHTS_VARIABLE})'
    raise WeightsMissing(
        f"FID's Inception weights: {where}; get {WEIGHTS_FILE} from "
        f"https://github.com/mseitzer/pytorch-fid/releases and convert it once (needs torch): "
        f"python -m jaxgan.evaluate.inception {WEIGHTS_FILE} inception_fid.npz")
  params = {}
  with np.load(path, allow_pickle=False) as arrays:
    for name in arrays.files:
      node = params
      *modules, leaf = name.split('/')
      for part in modules:
        node = node.setdefault(part, {})
      node[leaf] = arrays[name]
  return params
