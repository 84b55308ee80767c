"""R3GAN (Huang et al. 2024) as brownvc/R3GAN builds and trains it: its networks
(`jaxgan.nets.r3gan`), the relativistic pairing loss with R1 and R2 on the critic, Adam with
beta1 0, and the cosine schedules of its `training/training_loop.py` (learning rate, Adam's
beta2, gamma, the EMA's half-life and the augmentation's probability, on the images seen), its
augmentation pipeline (`jaxgan.ada`'s 'r3gan'); unconditional or class-conditional."""

import dataclasses
import math

import jax.numpy as jnp
import optax

from jaxgan import ada, augment, games, mixtures, regularizers
from jaxgan.config import AT_LEAST_0, BELOW_1, FRACTION, POSITIVE, Config
from jaxgan.families.common import (
  Conditional,
  FamilySection,
  latent_check,
  latent_dataset,
  num_classes,
)
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.games import adversarial
from jaxgan.nets import r3gan as r3gan_networks


@dataclasses.dataclass(frozen=True)
class R3GAN(FamilySection, Conditional):
  """R3GAN's fields; the defaults are its train.py's CIFAR10 preset. The schedules run from the
  shared fields' values (g_lr, d_lr, adam_b2) and `gamma` to their `*_final` values over
  `decay_kimg` thousand images, then stay there."""
  latent_dim: int = 64  # the reference's NoiseDimension
  widths: tuple[int, ...] = (768, 768, 768, 768)  # per generator stage from 4x4 (D: reversed)
  cardinalities: tuple[int, ...] = (96, 96, 96, 96)  # groups of each stage's KxK convolutions
  blocks: tuple[int, ...] = (2, 2, 2, 2)  # residual blocks per stage
  expansion: int = 2  # the inverted bottlenecks' widening
  bfloat16_stages: int = 0  # the generator's last N stages and the critic's first N in bfloat16
  gamma: float = 0.05  # R1's and R2's gamma at the start (0: no penalty)
  gamma_final: float = 0.005
  lr_final: float = 5e-5  # both learning rates' end
  b2_final: float = 0.99  # Adam's beta2 at the end (from adam_b2)
  ema_kimg: float = 5000.0  # the generator EMA's half-life at the end, from 0 (0: no EMA)
  augment_p: float = 0.55  # the augmentation's probability at the end, from 0 (0: none)
  decay_kimg: float = 20_000.0  # the schedules' length, thousands of images

  RANGES = {'bfloat16_stages': AT_LEAST_0, 'b2_final': BELOW_1, 'augment_p': FRACTION,
            'decay_kimg': POSITIVE,
            **{field: AT_LEAST_0 for field in ('gamma', 'gamma_final', 'lr_final', 'ema_kimg')}}
  STRUCTURE = ('latent_dim', 'conditional', 'classes', 'widths', 'cardinalities', 'blocks',
               'expansion')
  IN_USE = ('gamma', 'augment_p', 'ema_kimg')

  def check(self, config: Config) -> None:
    super().check(config)
    stages = len(self.widths)
    if not len(self.cardinalities) == len(self.blocks) == stages:
      raise ValueError(f'widths, cardinalities and blocks give one value per stage; got '
                       f'{stages}, {len(self.cardinalities)} and {len(self.blocks)}')
    if config.image_size != 4 * 2 ** (stages - 1):
      raise ValueError(f'r3gan with {stages} stages makes {4 * 2 ** (stages - 1)}x'
                       f'{4 * 2 ** (stages - 1)} images (a stage per doubling from 4x4), not '
                       f'{config.image_size}')
    for width, groups in zip(self.widths, self.cardinalities):
      if width * self.expansion % groups:
        raise ValueError(f'a stage of width {width} (x expansion {self.expansion}) cannot be '
                         f'split into {groups} groups')
    if self.bfloat16_stages > stages:
      raise ValueError(f'bfloat16_stages {self.bfloat16_stages}: there are {stages} stages')
    if config.dtype != 'float32':
      raise ValueError('r3gan computes in float32 but in its bfloat16_stages (the reference\'s '
                       'FP16Stages): use --set bfloat16_stages=N')
    if config.optimizer != 'adam' or config.lr_decay != 'constant':
      raise ValueError('r3gan trains with optimizer adam, its learning rate and beta2 on its own '
                       'cosine schedules (lr_decay constant; lr_final, b2_final, decay_kimg)')
    if config.dataset in mixtures.MIXTURES:
      raise ValueError(f'arch r3gan cannot train on dataset {config.dataset!r}: the 2-D '
                       f'mixtures go with arch mlp2d (--config mlp2d)')


def cosine_schedule(start: float, final: float, kimg: float, batch_size: int):
  """`value(step)`: R3GAN's `cosine_decay_with_warmup` (`training/training_loop.py`, without
  warm-up or hold) at the images seen before step `step` (step x batch_size): from `start` to
  `final` along half a cosine over `kimg` thousand images, `final` after."""
  total = kimg * 1000.0

  def value(step):
    images = jnp.asarray(step, jnp.float32) * batch_size
    decay = 0.5 * (1 + jnp.cos(math.pi * images / total))
    return jnp.where(images > total, final, start + (1 - decay) * (final - start))
  return value


def ema_schedule(kimg: float, decay_kimg: float, batch_size: int):
  """`decay(step)`: the reference's G_ema, `0.5 ** (batch_size / half-life images)`, the half-
  life on its cosine schedule from 0 to `kimg` thousand images (so the EMA starts as a copy)."""
  half_life = cosine_schedule(0.0, kimg * 1000.0, decay_kimg, batch_size)
  return lambda step: 0.5 ** (batch_size / jnp.maximum(half_life(step), 1e-8))


def recipe(config: Config) -> games.Recipe:
  """The loss, optimizers, penalties, augmentation and EMA of an r3gan config: Adam with
  betas (adam_b1, beta2(step)), learning rate, beta2, gamma (R1 and R2 alike), the EMA's
  half-life and the augmentation's p on their cosine schedules, as R3GAN's training loop sets
  them before each step."""
  schedule = lambda start, final: cosine_schedule(start, final, config.decay_kimg,
                                                  config.batch_size)

  def adam(learning_rate):
    return optax.inject_hyperparams(optax.adam)(
        learning_rate=schedule(learning_rate, config.lr_final), b1=config.adam_b1,
        b2=schedule(config.adam_b2, config.b2_final), eps=config.adam_eps)

  gamma = schedule(config.gamma, config.gamma_final)
  penalties = (regularizers.chain(r1=regularizers.r1(gamma), r2=regularizers.r2(gamma))
               if config.gamma > 0 else None)
  augmentation = (augment.scheduled(ada.pipeline('r3gan'), schedule(0.0, config.augment_p))
                  if config.augment_p > 0 else None)
  ema = (ema_schedule(config.ema_kimg, config.decay_kimg, config.batch_size)
         if config.ema_kimg > 0 else 0.0)
  return games.Recipe(
      loss=games.loss_of(config), optimizers={'G': adam(config.g_lr), 'D': adam(config.d_lr)},
      learning_rates={'G': schedule(config.g_lr, config.lr_final),
                      'D': schedule(config.d_lr, config.lr_final)},
      d_regularizer=penalties, augment=augmentation, ema_decay=ema)


def networks(config: Config):
  """R3GAN's generator and critic: the critic's stages the generator's reversed, the
  bfloat16 stages the highest resolutions of each, the label embeddings of the reference's
  train.py (the generator's as wide as z, the critic's as its last stage)."""
  classes, low_precision = num_classes(config), config.bfloat16_stages
  shape = dict(expansion=config.expansion, num_classes=classes)
  return (r3gan_networks.Generator(
              config.widths, config.cardinalities, config.blocks, channels=config.channels,
              embedding=config.latent_dim if classes else 0,
              bfloat16_stages=tuple(range(-low_precision, 0)), **shape),
          r3gan_networks.Discriminator(
              config.widths[::-1], config.cardinalities[::-1], config.blocks[::-1],
              embedding=config.widths[0] if classes else 0,
              bfloat16_stages=tuple(range(low_precision)), **shape))


def game(config: Config):
  pieces = recipe(config)
  return adversarial.game(
      *networks(config), loss=pieces.loss, optimizers=pieces.optimizers,
      latent_dim=config.latent_dim, sample_shape=image_shape(config), value_range=(-1.0, 1.0),
      ema_decay=pieces.ema_decay, d_regularizer=pieces.d_regularizer, augment=pieces.augment,
      num_classes=num_classes(config), grid_columns=config.sample_grid,
      grid_count=config.sample_grid ** 2)._replace(learning_rates=pieces.learning_rates)


def r3gan_cifar10() -> Config:
  """R3GAN's CIFAR10 preset, class-conditional 32x32x3, for accelerators.

  As brownvc/R3GAN's train.py `--preset=CIFAR10` with its README's command (batch 512, x-flips,
  augmentation, class-conditional): four stages of width 768, 96 groups, two blocks each, z of
  64, the generator's three highest-resolution stages and the critic's three in bfloat16; the
  relativistic loss with R1 and R2 at gamma 0.05 -> 0.005, Adam 2e-4 -> 5e-5 with betas
  (0, 0.9 -> 0.99), eps 1e-8, the EMA's half-life 0 -> 5M images and the augmentation's p
  0 -> 0.55, all over 20M images (39,063 steps, where the reference trains on until stopped).
    python train.py --config r3gan_cifar10 --dataset tfds:cifar10 --data-dir DIR
  """
  return Config(name='r3gan_cifar10', arch='r3gan', dataset='digits', image_size=32,
                channels=3, hflip=True, loss='relativistic', optimizer='adam', g_lr=2e-4,
                d_lr=2e-4, adam_b1=0.0, adam_b2=0.9, adam_eps=1e-8, batch_size=512,
                steps=39_063, log_every=100, checkpoint_every=5_000, sample_every=5_000,
                family=R3GAN(conditional=True, bfloat16_stages=3))


def r3gan() -> Config:
  """R3GAN on the digits at 32x32, small enough for a CPU.

  The recipe of `r3gan_cifar10` (the relativistic loss with R1 and R2, Adam with beta1 0 and
  the cosine schedules) at a CPU's size: the digits at 32x32x1, unconditional, stages of width
  64, 48, 32 and 16 (groups 4, 4, 4, 2, one block each), batch 32, 700 steps with the schedules
  over the run's 22,400 images. For so short a run four values depart from the reference's
  (measured here: with them the samples read as digits after 700 steps, 59% of them classified
  confidently; with the reference's gamma and learning rate they were still blobs): gamma
  0.5 -> 0.05, learning rate 1e-3 -> 2e-4, no augmentation, the EMA's half-life to 1k images.
    python train.py --config r3gan --workdir runs/r3gan
  """
  return r3gan_cifar10().replace(
      name='r3gan', channels=1, hflip=False, conditional=False, bfloat16_stages=0,
      widths=(64, 48, 32, 16), cardinalities=(4, 4, 4, 2), blocks=(1, 1, 1, 1), batch_size=32,
      steps=700, augment_p=0.0, ema_kimg=1.0, decay_kimg=22.4, gamma=0.5, gamma_final=0.05,
      g_lr=1e-3, d_lr=1e-3, lr_final=2e-4, log_every=50, sample_every=100,
      checkpoint_every=350)


FAMILY = register(Family(
    name='r3gan', section=R3GAN, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check, presets={'r3gan': r3gan, 'r3gan_cifar10': r3gan_cifar10}))
