"""What the built-in families share: the sections' checks by name, the fields and the building
of the adversarial game (a generator of latents against a discriminator), the datasets of the
families that draw from latents, and the checks their runs end with."""

import dataclasses
from pathlib import Path

import jax
import numpy as np

from jaxgan import ada, augment, data, games, losses, mixtures, optim
from jaxgan.config import AT_LEAST_0, BELOW_1, POSITIVE, Config, Section
from jaxgan.evaluate import modes
from jaxgan.evaluate.digits import STACKED_SAMPLES, digit_report, stacked_modes
from jaxgan.games import adversarial
from jaxgan.images import save_scatter

DIGIT_CHECK_SAMPLES = 1000


@dataclasses.dataclass(frozen=True)
class FamilySection(Section):
  """The base of the built-in sections: the config's loss and optimizer must be known."""

  def check(self, config: Config) -> None:
    for field, known in (('loss', losses.LOSSES), ('optimizer', optim.OPTIMIZERS)):
      if getattr(config, field) not in known:
        raise ValueError(f'unknown {field} {getattr(config, field)!r}; known: '
                         f'{", ".join(known)}')


@dataclasses.dataclass(frozen=True)
class Adversarial(FamilySection):
  """The fields of the adversarial game (`jaxgan.games.adversarial`, `games.recipe`), which the
  families of a generator of latents share."""
  latent_dim: int = 128
  n_critic: int = 1  # discriminator updates per generator update
  gp_weight: float = 0.0  # WGAN-GP gradient penalty weight (0: none)
  r1_gamma: float = 0.0  # R1 penalty weight (0: none)
  r2_gamma: float = 0.0  # R2 penalty weight, on generated samples (0: none)
  r1_every: int = 1  # lazy R1 and R2: every N steps, scaled by N
  pl_weight: float = 0.0  # StyleGAN2's path length penalty (0: none)
  pl_every: int = 4  # lazy: every N steps, scaled by N
  pl_batch_shrink: int = 2  # the path length on batch // N samples
  regularizer_steps: bool = False  # penalties as their own optimizer steps (StyleGAN2's phases),
  #                                  with Adam's learning rate and betas corrected for them
  augment: str = ''  # DiffAugment policy, e.g. 'color,translation,cutout' ('' : none), or
  #                   ADA: 'ada' (its 'bgc' pipeline) or 'ada:SPEC' (blit, geom, color, bg, bgc)
  ada_target: float = 0.6  # ADA's target for E[sign(D(real))]
  ada_kimg: float = 500.0  # ADA's speed: p can go from 0 to 1 in this many thousand images
  ema_decay: float = 0.0  # 0: no generator EMA
  ema_kimg: float = 0.0  # > 0: the EMA's half-life in thousands of images (StyleGAN2), not decay
  ema_rampup: float = 0.0  # > 0: the half-life at most this fraction of the images seen so far

  RANGES = {
      'ema_decay': BELOW_1, 'ada_kimg': POSITIVE,
      # E[sign(D(real))] lies in [-1, 1] (stylegan2-ada-pytorch's command line takes [0, 1])
      'ada_target': ('in [-1, 1]', lambda value: -1 <= value <= 1),
      **{field: AT_LEAST_0 for field in ('gp_weight', 'r1_gamma', 'r2_gamma', 'pl_weight',
                                         'ema_kimg', 'ema_rampup')}}
  STRUCTURE = ('latent_dim',)
  IN_USE = ('ema_decay', 'gp_weight', 'r1_gamma', 'r2_gamma', 'pl_weight', 'ema_kimg')

  def check(self, config: Config) -> None:
    super().check(config)
    if self.augment.startswith('ada'):
      if (spec := self.augment.partition(':')[2] or 'bgc') not in ada.SPECS:
        raise ValueError(f'unknown ADA pipeline {spec!r}; known: {", ".join(ada.SPECS)}')
    else:
      augment.diff_augment(self.augment)  # raises on an unknown augmentation


@dataclasses.dataclass(frozen=True)
class Conditional:
  """The fields of a family that conditions on classes (a mixin of its section)."""
  conditional: bool = False  # class-conditional: G(z, label) and D(x, label)
  classes: tuple[str, ...] = ()  # a conditional run's class names, taken from its dataset


@dataclasses.dataclass(frozen=True)
class Translation(FamilySection):
  """The fields of the translation families (`jaxgan.nets.translation`: pytorch-CycleGAN-and-
  pix2pix's networks; its option in brackets)."""
  ngf: int = 64  # the generator's first layer's channels [--ngf]
  ndf: int = 64  # the discriminator's [--ndf]
  d_layers: int = 3  # the PatchGAN's stride-2 layers [--n_layers_D]
  norm: str = 'batch'  # batch, instance or none [--norm]
  g_dropout: bool = True  # dropout in the generator [not --no_dropout]

  STRUCTURE = ('ngf', 'ndf', 'd_layers', 'norm')

  def check(self, config: Config) -> None:
    super().check(config)
    if self.norm not in ('batch', 'instance', 'none'):
      raise ValueError(f"norm must be batch, instance or none, got {self.norm!r}")
    if losses.LOSSES[config.loss]().pairs:
      raise ValueError(f'loss {config.loss} judges pairs of a real and a generated sample, which '
                       f'a {config.arch} run does not form; choose another loss')
    if config.eval_every:
      raise ValueError(f'eval_every: a {config.arch} run translates images and draws no '
                       f'samples from latents to evaluate; its check on held-out data comes at '
                       f'its end')


def num_classes(config: Config) -> int:
  """The classes the networks condition on (0: unconditional). A conditional config's classes
  come from its dataset (`jaxgan.train.run` fills them in)."""
  if not getattr(config, 'conditional', False):
    return 0
  if not config.classes:
    raise ValueError('a conditional config needs its classes (jaxgan.train.run takes them from '
                     'the dataset)')
  return len(config.classes)


def latent_dataset(config: Config, data_dir=None, report=print) -> data.Dataset:
  """Images (with their classes when the config is conditional), or a mixture's points."""
  return data.load_examples(config.dataset, config.image_size, config.channels, data_dir,
                            report=report, labels=getattr(config, 'conditional', False))


def adversarial_options(config: Config, pieces: games.Recipe, sample_shape: tuple[int, ...],
                        **changes) -> dict:
  """The keywords of `adversarial.game` (and `progressive.game`) for a config and its recipe;
  `changes` replace any of them."""
  return {
      'loss': pieces.loss, 'optimizers': pieces.optimizers, 'latent_dim': config.latent_dim,
      'sample_shape': sample_shape, 'ema_decay': pieces.ema_decay,
      'd_regularizer': pieces.d_regularizer, 'g_regularizer': pieces.g_regularizer,
      'augment': pieces.augment, 'n_critic': config.n_critic, 'num_classes': num_classes(config),
      'grid_columns': config.sample_grid, 'grid_count': config.sample_grid ** 2,
      'regularizer_steps': config.regularizer_steps, **changes}


def adversarial_game(config: Config, generator, discriminator, sample_shape: tuple[int, ...],
                     **changes) -> games.Game:
  """`adversarial.game` of the networks with the config's recipe (`games.recipe`)."""
  pieces = games.recipe(config)
  return adversarial.game(generator, discriminator,
                          **adversarial_options(config, pieces, sample_shape, **changes)
                          )._replace(learning_rates=pieces.learning_rates)


def latent_check(config: Config, game: games.Game):
  """The check a run of a generator of latents ends with on an embedded dataset, as (name,
  measure(state, samples_of, in_unit_range) -> report), else None: the digits', the stacked
  digits' and the 2-D mixtures' on samples drawn from the game's inputs (None for a game given
  to the loop whose samples come from data)."""
  if game.inputs is None:
    return None
  if config.dataset == 'digits':
    name, count = 'digits_check', DIGIT_CHECK_SAMPLES
    report = lambda images, asked=None: digit_report(images, asked=asked)
  elif config.dataset == 'stacked_digits':
    name, report, count = 'stacked_check', stacked_modes, STACKED_SAMPLES
  elif config.dataset in mixtures.MIXTURES:
    mixture = mixtures.MIXTURES[config.dataset]()
    name, count = 'modes_check', modes.NUM_SAMPLES
    report = lambda points: modes.coverage(points, mixture)
  else:
    return None

  def measure(state, samples_of, in_unit_range):
    del state  # the samples come from `samples_of`
    inputs = game.inputs(jax.random.key(config.seed + 1), count)
    labels = (np.asarray(inputs['label']),) if 'label' in inputs else ()
    return report(in_unit_range(samples_of(inputs)), *labels)
  return name, measure


def draw_points(config: Config, game, points, path: Path) -> None:
  """2-D samples as a scatter plot, over the mixture's modes when the dataset is one."""
  del game
  points = np.asarray(points)
  centers = mixtures.MIXTURES[config.dataset]().centers if config.dataset in mixtures.MIXTURES \
      else None
  save_scatter(points, path, centers)


def translation_batch(config: Config, images: np.ndarray) -> dict:
  """A translation batch of `images`: the same images as the sources and the targets."""
  del config
  return {'image': images, 'source': images}
