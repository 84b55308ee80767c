"""`Config`: one flat, frozen dataclass per run; presets live in `jaxgan.configs`."""

import dataclasses
import json
import math
import typing

from jaxgan.ada import SPECS as ADA_SPECS
from jaxgan.augment import diff_augment
from jaxgan.evaluate.modes import MIXTURES
from jaxgan.losses import LOSSES
from jaxgan.nets import ARCHS
from jaxgan.optim import OPTIMIZERS

DTYPES = ('float32', 'bfloat16')


class UnknownFields(ValueError):
  """A saved config has fields this version of jaxgan does not know; the message names them."""


@dataclasses.dataclass(frozen=True)
class Config:
  """Every field can be set from the command line with `--set field=value`."""

  name: str = 'custom'
  # data
  dataset: str = 'digits'  # see jaxgan.data.load_dataset
  image_size: int = 64  # images are center-cropped to a square and resized to this
  channels: int = 3  # 1: grayscale, 3: RGB
  hflip: bool = False  # mirror each training image left-right with probability 1/2
  # networks
  arch: str = 'dcgan'
  latent_dim: int = 128
  g_base: int = 8
  g_dense_features: int = 128
  g_widths: tuple[int, ...] = (128, 256, 512)
  d_widths: tuple[int, ...] = (64, 128, 128)
  d_dropout: float = 0.2
  spectral_norm: bool = False  # spectral normalization of the discriminator's layers
  conditional: bool = False  # class-conditional: G(z, label) and a projection D(x, label)
  classes: tuple[str, ...] = ()  # a conditional run's class names, taken from its dataset
  class_features: int = 32  # the conditional generator's class embedding
  dtype: str = 'float32'  # compute dtype, 'float32' or 'bfloat16' (parameters stay float32)
  # arch stylegan2 (jaxgan.nets.stylegan2; latent_dim is z's size)
  w_dim: int = 512
  mapping_layers: int = 8
  d_mapping_layers: int = 8  # a conditional discriminator's label mapping (the reference's: 8)
  channel_base: int = 32768  # channels at resolution r: min(channel_base // r, channel_max)
  channel_max: int = 512
  mbstd_group: int = 4  # the discriminator's minibatch-stddev group size
  mbstd_channels: int = 1  # and its feature maps (channel groups)
  d_architecture: str = 'resnet'  # or 'orig' (the reference's cifar configuration)
  style_mixing: float = 0.0  # probability of mixing two latents' styles in training
  freeze_d: int = 0  # Freeze-D (Mo et al. 2020): the discriminator's first N layers not trained
  # arch pggan (jaxgan.nets.pggan: latent_dim, channel_base, channel_max, mbstd_group as above)
  stage_kimg: float = 600.0  # thousands of real images trained on at each resolution
  fade_kimg: float = 600.0  # and over which each new resolution fades in
  reset_optimizer: bool = True  # Adam's state reset when a fade begins and when it ends
  # arch pix2pix and cyclegan (jaxgan.nets.translation; pytorch-CycleGAN-and-pix2pix's option
  # in brackets)
  num_downs: int = 8  # the U-Net's halvings [--netG unet_256: 8, unet_128: 7]
  resnet_blocks: int = 9  # CycleGAN's residual blocks [--netG resnet_9blocks, resnet_6blocks]
  ngf: int = 64  # the generator's first layer's channels [--ngf]
  ndf: int = 64  # the discriminator's [--ndf]
  d_layers: int = 3  # the PatchGAN's stride-2 layers [--n_layers_D]
  norm: str = 'batch'  # batch, instance or none [--norm]
  g_dropout: bool = True  # dropout in the generator [not --no_dropout]
  l1_weight: float = 100.0  # the L1 distance to the target in G's loss [--lambda_L1]
  direction: str = 'AtoB'  # a paired folder's source side: A (left, or A/) or B [--direction]
  cycle_weight: float = 10.0  # CycleGAN's cycle-consistency weight [--lambda_A, --lambda_B]
  identity_weight: float = 0.5  # its identity term, relative to the cycle's [--lambda_identity]
  pool_size: int = 50  # its pool of past translations per discriminator (0: none) [--pool_size]
  # the game
  loss: str = 'seed_bce'  # see jaxgan.losses.LOSSES (f_kl, f_jensen_shannon, ...: f-GAN)
  label_noise: float = 0.05  # seed_bce only
  n_critic: int = 1  # discriminator updates per generator update
  gp_weight: float = 0.0  # WGAN-GP gradient penalty weight (0: none)
  drift: float = 0.0  # wasserstein only: drift * E[D(real)^2] in the critic's loss (PGGAN's)
  r1_gamma: float = 0.0  # R1 penalty weight (0: none)
  r1_every: int = 1  # lazy R1: every N steps, scaled by N
  pl_weight: float = 0.0  # StyleGAN2's path length penalty (0: none)
  pl_every: int = 4  # lazy: every N steps, scaled by N
  pl_batch_shrink: int = 2  # the path length on batch // N samples
  regularizer_steps: bool = False  # penalties as their own optimizer steps (StyleGAN2's phases),
  #                                  with Adam's learning rate and betas corrected for them
  augment: str = ''  # DiffAugment policy, e.g. 'color,translation,cutout' ('' : none), or
  #                   ADA: 'ada' (its 'bgc' pipeline) or 'ada:SPEC' (blit, geom, color, bg, bgc)
  ada_target: float = 0.6  # ADA's target for E[sign(D(real))]
  ada_kimg: float = 500.0  # ADA's speed: p can go from 0 to 1 in this many thousand images
  optimizer: str = 'keras_adam'  # or 'adam' (optax's)
  g_lr: float = 1e-4
  d_lr: float = 1e-4
  adam_b1: float = 0.9
  adam_b2: float = 0.999
  adam_eps: float = 1e-7  # Keras' default
  lr_decay: str = 'constant'  # or 'cosine': both learning rates decay to 0 over the run; or
  #                             'linear': constant for half the run, then linearly to 0 (pix2pix)
  ema_decay: float = 0.0  # 0: no generator EMA
  ema_kimg: float = 0.0  # > 0: the EMA's half-life in thousands of images (StyleGAN2), not decay
  ema_rampup: float = 0.0  # > 0: the half-life at most this fraction of the images seen so far
  # the run
  batch_size: int = 32
  steps: int = 10_000
  seed: int = 0
  log_every: int = 50
  checkpoint_every: int = 500
  keep: int = 3  # checkpoints kept
  sample_every: int = 0  # 0: once per epoch, like the seed's GANMonitor
  sample_grid: int = 8  # the sample PNG is a grid x grid mosaic
  eval_every: int = 0  # every N steps the Frechet distance, precision and recall of the EMA
  #                      generator's samples go to metrics.jsonl, the best checkpoint to best/
  eval_features: str = 'auto'  # digits (the digits' feature network), inception (FID's: needs
  #                              its weights) or auto: digits on the digits, inception otherwise
  eval_samples: int = 1000  # samples drawn for each evaluation (and real images, for inception)

  def __post_init__(self):
    for field, kind in typing.get_type_hints(Config).items():
      _check_value(field, kind, getattr(self, field))
    size = self.g_base * 2 ** len(self.g_widths)
    if self.arch == 'dcgan' and size != self.image_size:
      raise ValueError(f'generator makes {size}x{size} images (g_base {self.g_base}, '
                       f'{len(self.g_widths)} upsamplings) but image_size is {self.image_size}')
    for field, known in (('loss', LOSSES), ('optimizer', OPTIMIZERS)):
      if getattr(self, field) not in known:
        raise ValueError(f'unknown {field} {getattr(self, field)!r}; known: {", ".join(known)}')
    if self.augment.startswith('ada'):
      if (spec := self.augment.partition(':')[2] or 'bgc') not in ADA_SPECS:
        raise ValueError(f'unknown ADA pipeline {spec!r}; known: {", ".join(ADA_SPECS)}')
    else:
      diff_augment(self.augment)  # raises on an unknown augmentation
    if self.arch not in ARCHS:
      raise ValueError(f'unknown arch {self.arch!r}; known: {", ".join(ARCHS)}')
    if (self.arch == 'mlp2d') != (self.dataset in MIXTURES):
      raise ValueError(f'arch {self.arch} cannot train on dataset {self.dataset!r}: the 2-D '
                       f'mixtures ({", ".join(MIXTURES)}) go with arch mlp2d (--config mlp2d), '
                       f'images with dcgan')
    if self.dtype not in DTYPES:
      raise ValueError(f'dtype must be one of {", ".join(DTYPES)}, got {self.dtype!r}')
    if self.conditional and self.arch not in ('dcgan', 'stylegan2'):
      raise ValueError(f'conditional networks are an option of arch dcgan or stylegan2, not '
                       f'{self.arch}')
    power_of_two = self.image_size & (self.image_size - 1) == 0
    if self.batch_size % min(self.batch_group, self.batch_size):
      raise ValueError(f'batch_size {self.batch_size} is not a multiple of mbstd_group '
                       f'{self.batch_group} (the discriminator\'s minibatch-stddev groups)')
    if self.arch == 'stylegan2' and (self.image_size < 8 or not power_of_two):
      raise ValueError(f'stylegan2 makes images of a power of two from 8, not {self.image_size}')
    if self.arch == 'pggan' and (self.image_size < 4 or not power_of_two):
      raise ValueError(f'pggan grows to images of a power of two from 4, not {self.image_size}')
    if self.arch == 'stylegan2' and self.dtype != 'float32':
      raise ValueError('stylegan2 computes in float32 for now (--dtype bfloat16 is not wired '
                       'into its networks yet)')
    if self.freeze_d and self.arch != 'stylegan2':
      raise ValueError(f'freeze_d counts the layers of the stylegan2 discriminator, not of '
                       f'{self.arch}')
    if self.d_architecture not in ('resnet', 'orig'):
      raise ValueError(f"d_architecture must be 'resnet' or 'orig', got {self.d_architecture!r}")
    if self.eval_features not in ('auto', 'digits', 'inception'):
      raise ValueError(f"eval_features must be auto, digits or inception, got "
                       f"{self.eval_features!r}")
    if self.eval_every and self.eval_space == 'digits' and self.dataset != 'digits':
      raise ValueError(f'eval_features digits compares with the digits, not {self.dataset!r}: '
                       f'use --set eval_features=inception')
    if self.lr_decay not in ('constant', 'cosine', 'linear'):
      raise ValueError(f"lr_decay must be 'constant', 'cosine' or 'linear', got "
                       f"{self.lr_decay!r}")
    if self.norm not in ('batch', 'instance', 'none'):
      raise ValueError(f"norm must be batch, instance or none, got {self.norm!r}")
    if self.direction not in ('AtoB', 'BtoA'):
      raise ValueError(f"direction must be AtoB or BtoA, got {self.direction!r}")
    if self.arch == 'cyclegan' and self.image_size % 4:
      raise ValueError(f'the ResNet generator halves the image twice: image_size must be a '
                       f'multiple of 4, not {self.image_size}')
    if self.arch == 'pix2pix':
      if self.num_downs < 5 or self.image_size % 2 ** self.num_downs:
        raise ValueError(f'a U-Net of num_downs {self.num_downs} (at least 5) needs an '
                         f'image_size that is a multiple of {2 ** self.num_downs}, not '
                         f'{self.image_size}')

  def check_used(self, fields) -> None:
    """`ValueError` naming the first of `fields` (set by the user) that this config's arch or
    loss does not read, and who reads it."""
    for field in fields:
      owners = FIELD_OWNERS.get(field)
      if owners is not None and self.arch not in owners:
        raise ValueError(f'{field} is a setting of {", ".join(owners)}; this run is '
                         f'{self.arch}, which does not read it')
      if field in LOSS_FIELDS and self.loss != LOSS_FIELDS[field]:
        raise ValueError(f'{field} is a setting of the {LOSS_FIELDS[field]} loss; this run\'s '
                         f'loss is {self.loss}, which does not read it')

  @property
  def batch_group(self) -> int:
    """The samples the discriminator groups (its minibatch standard deviation's groups, where
    the family has one): a device's batch must be a multiple of the group, or smaller."""
    return self.mbstd_group if self.arch in FIELD_OWNERS['mbstd_group'] else 1

  @property
  def eval_space(self) -> str:
    """The evaluation's features, 'auto' resolved by the dataset."""
    if self.eval_features != 'auto':
      return self.eval_features
    return 'digits' if self.dataset == 'digits' else 'inception'

  def replace(self, **changes) -> 'Config':
    return dataclasses.replace(self, **changes)

  def override(self, assignments: list[str]) -> 'Config':
    """Applies `field=value` strings, parsing each value by the field's type."""
    types = typing.get_type_hints(Config)
    changes = {}
    for assignment in assignments:
      field, sep, text = assignment.partition('=')
      if not sep:
        raise ValueError(f'expected field=value, got {assignment!r}')
      if field not in types:
        raise ValueError(f'unknown config field {field!r}')
      changes[field] = _parse(types[field], text, field)
    return self.replace(**changes)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: dict) -> 'Config':
    """Inverse of `to_dict` after a JSON round trip (lists back to tuples). Fields that this
    version does not know (a config written by another version of jaxgan) raise
    `UnknownFields` naming them; fields missing take their defaults."""
    if unknown := sorted(set(values) - {field.name for field in dataclasses.fields(cls)}):
      raise UnknownFields(f'a config written by another version of jaxgan, with field'
                          f'{"s" if len(unknown) > 1 else ""} this version does not know: '
                          f'{", ".join(unknown)}')
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

  def structure_changes(self, saved: dict) -> list[str]:
    """Fields that differ from a saved config in a way that changes the state's shapes."""
    def structural(values: dict, field: str):
      value = values.get(field, json.loads(json.dumps(getattr(Config(), field))))  # older runs
      if field in ('ema_decay', 'gp_weight', 'r1_gamma', 'pl_weight', 'ema_kimg'):
        return (value or 0) > 0  # used or not (its state exists or not); the value may change
      return value

    current = json.loads(json.dumps(self.to_dict()))  # tuples as JSON lists, like `saved`
    changed = [field for field in STRUCTURE_FIELDS
               if structural(saved, field) != structural(current, field)]
    if self.arch == 'pggan':  # the stages' steps fix which stage's shapes a step has
      schedule = lambda values: tuple(round(structural(values, field) * 1000
                                            / structural(values, 'batch_size'))
                                      for field in ('stage_kimg', 'fade_kimg'))
      if schedule(saved) != schedule(current):
        changed.append('stage_kimg, fade_kimg or batch_size (the steps of its stages)')
    return changed


# The values a numeric field can take, beyond its type (every float must be finite): the fields
# not named here are positive integers.
_AT_LEAST_0 = ('0 or more', lambda value: value >= 0)
_POSITIVE = ('positive', lambda value: value > 0)
_FRACTION = ('in [0, 1]', lambda value: 0 <= value <= 1)
_BELOW_1 = ('in [0, 1)', lambda value: 0 <= value < 1)
RANGES = {
    'channels': ('1 (grey) or 3 (RGB)', lambda value: value in (1, 3)),
    'seed': ('in [0, 2**31)', lambda value: 0 <= value < 2 ** 31),
    'freeze_d': _AT_LEAST_0, 'pool_size': _AT_LEAST_0, 'sample_every': _AT_LEAST_0,
    'eval_every': _AT_LEAST_0,
    'd_dropout': _BELOW_1, 'ema_decay': _BELOW_1, 'adam_b1': _BELOW_1, 'adam_b2': _BELOW_1,
    'style_mixing': _FRACTION,
    # E[sign(D(real))] lies in [-1, 1] (stylegan2-ada-pytorch's command line takes [0, 1])
    'ada_target': ('in [-1, 1]', lambda value: -1 <= value <= 1),
    'g_lr': _POSITIVE, 'd_lr': _POSITIVE, 'adam_eps': _POSITIVE, 'stage_kimg': _POSITIVE,
    'ada_kimg': _POSITIVE,
    **{field: _AT_LEAST_0 for field in (
        'fade_kimg', 'l1_weight', 'cycle_weight', 'identity_weight', 'label_noise', 'gp_weight',
        'drift', 'r1_gamma', 'pl_weight', 'ema_kimg', 'ema_rampup')},
}


def _check_value(field: str, kind, value) -> None:
  """`ValueError` naming `field` unless `value` is of its type (`kind`) and in its range
  (`RANGES`; else a positive integer, or a tuple of them)."""
  if typing.get_origin(kind) is tuple:
    (item,) = set(typing.get_args(kind)) - {Ellipsis}
    if not isinstance(value, tuple) or not all(isinstance(x, item) and not isinstance(x, bool)
                                               for x in value):
      raise ValueError(f'{field} must be a tuple of {item.__name__}, got {value!r}')
    if item is int and (not value and field != 'classes' or any(x <= 0 for x in value)):
      raise ValueError(f'{field} must be positive integers, got {value!r}')
    return
  numeric = kind in (int, float)
  if isinstance(value, bool) != (kind is bool) or not isinstance(
      value, (int, float) if kind is float else kind):
    raise ValueError(f'{field} must be {"a number" if kind is float else kind.__name__}, '
                     f'got {value!r}')
  if not numeric:
    return
  if not math.isfinite(value):
    raise ValueError(f'{field} must be finite, got {value}')
  name, allowed = RANGES.get(field, ('a positive integer', lambda value: value > 0))
  if not allowed(value):
    raise ValueError(f'{field} must be {name}, got {value}')


ADVERSARIAL = ('dcgan', 'mlp2d', 'stylegan2', 'pggan')  # the archs a latent feeds
TRANSLATION = ('pix2pix', 'cyclegan')
# The archs that read each field (the fields not named: every arch). Setting one that the run's
# arch does not read (`Config.check_used`) is a mistake that would otherwise pass in silence.
FIELD_OWNERS = {
    **{field: ('dcgan',) for field in ('g_base', 'g_dense_features', 'd_dropout',
                                       'class_features')},
    **{field: ('dcgan', 'mlp2d') for field in ('g_widths', 'd_widths', 'spectral_norm')},
    'conditional': ('dcgan', 'stylegan2'),
    **{field: ('stylegan2',) for field in ('w_dim', 'mapping_layers', 'd_mapping_layers',
                                           'mbstd_channels', 'd_architecture', 'style_mixing',
                                           'freeze_d')},
    **{field: ('stylegan2', 'pggan') for field in ('channel_base', 'channel_max', 'mbstd_group')},
    **{field: ('pggan',) for field in ('stage_kimg', 'fade_kimg', 'reset_optimizer')},
    **{field: ('pix2pix',) for field in ('num_downs', 'l1_weight', 'direction')},
    **{field: ('cyclegan',) for field in ('resnet_blocks', 'cycle_weight', 'identity_weight',
                                          'pool_size')},
    **{field: TRANSLATION for field in ('ngf', 'ndf', 'd_layers', 'norm', 'g_dropout')},
    **{field: ADVERSARIAL for field in (
        'latent_dim', 'n_critic', 'gp_weight', 'r1_gamma', 'r1_every', 'pl_weight', 'pl_every',
        'pl_batch_shrink', 'regularizer_steps', 'augment', 'ada_target', 'ada_kimg',
        'ema_decay', 'ema_kimg', 'ema_rampup', 'eval_every', 'eval_features', 'eval_samples')},
}
# Fields one loss reads.
LOSS_FIELDS = {'label_noise': 'seed_bce', 'drift': 'wasserstein'}


# Fields that fix the shapes of a run's state: a checkpoint resumes only if these agree.
STRUCTURE_FIELDS = ('arch', 'image_size', 'channels', 'latent_dim', 'g_base', 'g_dense_features',
                    'g_widths', 'd_widths', 'spectral_norm', 'optimizer', 'ema_decay', 'gp_weight',
                    'r1_gamma', 'conditional', 'classes', 'class_features', 'w_dim',
                    'mapping_layers', 'channel_base', 'channel_max', 'd_architecture',
                    'mbstd_channels', 'd_mapping_layers', 'pl_weight',
                    'ema_kimg', 'num_downs', 'ngf', 'ndf', 'd_layers', 'norm', 'resnet_blocks',
                    'pool_size')


def _parse(kind, text: str, field: str):
  try:
    if kind is bool:
      if text.lower() not in ('true', 'false', '1', '0'):
        raise ValueError(text)
      return text.lower() in ('true', '1')
    if typing.get_origin(kind) is tuple:
      (item,) = set(typing.get_args(kind)) - {Ellipsis}
      return tuple(item(part) for part in text.split(',') if part)
    return kind(text)
  except ValueError:
    raise ValueError(f'{field}: cannot read {text!r} as {getattr(kind, "__name__", kind)}') from None
