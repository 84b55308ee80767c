"""Progressive growing of GANs (Karras et al. 2018) as progressive_growing_of_gans builds and
trains it (`jaxgan.nets.pggan`, `jaxgan.games.progressive`): the adversarial game stage by
stage, each new resolution faded in on the reference's schedule, Adam reset where it resets."""

import dataclasses

import jax.numpy as jnp

from jaxgan import games, mixtures
from jaxgan.config import AT_LEAST_0, POSITIVE, Config
from jaxgan.families.common import Adversarial, adversarial_options, latent_check, latent_dataset
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.games import progressive
from jaxgan.nets import pggan as networks_of_pggan


@dataclasses.dataclass(frozen=True)
class PGGAN(Adversarial):
  """Progressive growing's fields (`jaxgan.nets.pggan`: channels at resolution r are
  min(channel_base // r, channel_max))."""
  channel_base: int = 32768
  channel_max: int = 512
  mbstd_group: int = 4  # the discriminator's minibatch-stddev group size
  stage_kimg: float = 600.0  # thousands of real images trained on at each resolution
  fade_kimg: float = 600.0  # and over which each new resolution fades in
  reset_optimizer: bool = True  # Adam's state reset when a fade begins and when it ends

  RANGES = {'stage_kimg': POSITIVE, 'fade_kimg': AT_LEAST_0}
  STRUCTURE = (*Adversarial.STRUCTURE, 'channel_base', 'channel_max')

  @property
  def batch_group(self) -> int:
    return self.mbstd_group

  def check(self, config: Config) -> None:
    super().check(config)
    if config.image_size < 4 or config.image_size & (config.image_size - 1):
      raise ValueError(f'pggan grows to images of a power of two from 4, not '
                       f'{config.image_size}')
    if config.dataset in mixtures.MIXTURES:
      raise ValueError(f'arch pggan cannot train on dataset {config.dataset!r}: the 2-D '
                       f'mixtures go with arch mlp2d (--config mlp2d)')

  def structure_changes(self, saved: dict, current: dict) -> list[str]:
    """The stages' steps fix which stage's shapes a step has."""
    schedule = lambda values: tuple(round(values.get(field, 600.0) * 1000
                                          / values['batch_size'])
                                    for field in ('stage_kimg', 'fade_kimg'))
    if schedule(saved) != schedule(current):
      return ['stage_kimg, fade_kimg or batch_size (the steps of its stages)']
    return []


def networks(config: Config):
  sizes = dict(resolution=config.image_size, channels=config.channels,
               channel_base=config.channel_base, channel_max=config.channel_max,
               dtype=jnp.dtype(config.dtype))
  return (networks_of_pggan.Generator(**sizes),
          networks_of_pggan.Discriminator(mbstd_group_size=config.mbstd_group, **sizes))


def game(config: Config):
  pieces = games.recipe(config)
  steps_for = lambda kimg: round(kimg * 1000 / config.batch_size)
  return progressive.game(
      *networks(config), resolution=config.image_size,
      stable_steps=steps_for(config.stage_kimg), fade_steps=steps_for(config.fade_kimg),
      reset_optimizers=config.reset_optimizer,
      **adversarial_options(config, pieces, image_shape(config), value_range=(-1.0, 1.0),
                            joint_critic=False))._replace(learning_rates=pieces.learning_rates)


def pggan_celebahq() -> Config:
  """Progressive growing as the reference trains CelebA-HQ at 1024x1024.

  Progressive growing as progressive_growing_of_gans trains CelebA-HQ at 1024x1024
  (`config.py`, `networks.py`, `loss.py`, `train.py`'s defaults): the paper's networks
  (fmap_base 8192 and fmap_max 512 there: channel_base 16384 here; latent 512; minibatch
  stddev in groups of 4), WGAN-GP (gradient penalty 10) with the drift term 0.001, Adam 0.001 with
  betas (0, 0.99) and eps 1e-8, its state reset when each fade begins and ends, a generator EMA
  of 0.999, 600k images per resolution and 600k to fade each in, mirrored images, 12,000k images
  in all. One batch size, 16, where the reference's single-GPU preset shrinks its minibatch with
  the resolution (128 at 4x4 down to 4 at 512) and raises the learning rate at 1024 (0.0015).
  For accelerators, on a folder of CelebA-HQ's 1024x1024 images (its default `celeba_hq`):
    python train.py --config pggan_celebahq --dataset ~/data/celeba_hq
  """
  return Config(name='pggan_celebahq', arch='pggan', dataset='celeba_hq', image_size=1024,
                channels=3, loss='wasserstein', drift=0.001, optimizer='adam', g_lr=0.001,
                d_lr=0.001, adam_b1=0.0, adam_b2=0.99, adam_eps=1e-8, hflip=True,
                batch_size=16, steps=750_000, log_every=100, checkpoint_every=5_000,
                sample_every=5_000,
                family=PGGAN(latent_dim=512, channel_base=16384, channel_max=512, mbstd_group=4,
                             gp_weight=10.0, ema_decay=0.999, stage_kimg=600.0, fade_kimg=600.0,
                             reset_optimizer=True))


def pggan() -> Config:
  """Progressive growing on the digits, 4x4 to 16x16, with the reference's recipe.

  Progressive growing on the digits, 4x4 to 16x16 (`--set image_size=32` adds a stage), with
  the reference's recipe (see pggan_celebahq) on narrower networks (channels min(512 // r, 64),
  latent 64) and a shorter schedule: 400 steps of batch 64 at each resolution and 400 to fade
  each new one in. One value departs for this short run: the generator EMA's decay is 0.99,
  not 0.999, which at the end of a 400-step stage would still hold 67% of its new layers'
  initial weights (measured: noise-like samples at every stage, recall 0.00 at the end). Samples
  show the current stage's images enlarged to the final size.
    python train.py --config pggan
  """
  return pggan_celebahq().replace(
      name='pggan', dataset='digits', image_size=16, channels=1, latent_dim=64,
      channel_base=512, channel_max=64, hflip=False, ema_decay=0.99, batch_size=64,
      stage_kimg=25.6, fade_kimg=25.6, steps=2_000, log_every=50, checkpoint_every=500,
      sample_every=200, eval_every=500)


FAMILY = register(Family(
    name='pggan', section=PGGAN, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check, presets={'pggan': pggan, 'pggan_celebahq': pggan_celebahq}))
