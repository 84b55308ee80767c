"""A family of GANs from outside jaxgan: `tinyconv`, a small convolutional generator and critic
on the 8x8 digits with the hinge loss, made known through the public API alone
(`jaxgan.families.register`). docs/families.md walks through this file; `test_plugin_family.py`
trains it in the loop, resumes it, samples it, and runs it from the commands
(`JAXGAN_FAMILIES=plugin_family`)."""

import dataclasses

import jax.numpy as jnp
from flax import linen as nn

from jaxgan import families
from jaxgan.config import Config
from jaxgan.families.common import Adversarial, adversarial_game, latent_check, latent_dataset


@dataclasses.dataclass(frozen=True)
class TinyConv(Adversarial):
  """The family's own fields, beside the adversarial game's (latent_dim, r1_gamma, ema_decay,
  ...): `--set width=32` reaches them."""
  width: int = 16  # the channels of the generator's 4x4 map and of the critic's conv

  STRUCTURE = (*Adversarial.STRUCTURE, 'width')  # fixes the parameters' shapes

  def check(self, config: Config) -> None:
    super().check(config)
    if config.image_size != 8:
      raise ValueError(f'tinyconv draws 8x8 images, not {config.image_size}x'
                       f'{config.image_size}')


class Generator(nn.Module):
  """z -> a 4x4 map -> an 8x8 image in [0, 1]."""
  width: int
  channels: int

  @nn.compact
  def __call__(self, z):
    x = nn.relu(nn.Dense(4 * 4 * self.width)(z)).reshape(-1, 4, 4, self.width)
    return nn.sigmoid(nn.ConvTranspose(self.channels, (4, 4), strides=(2, 2))(x))


class Critic(nn.Module):
  """An image -> one logit (the adversarial game passes `train` and `update_stats`)."""
  width: int

  @nn.compact
  def __call__(self, x, train: bool = True, update_stats: bool = False):
    del train, update_stats  # no dropout, no statistics
    x = nn.leaky_relu(nn.Conv(self.width, (4, 4), strides=(2, 2))(x), 0.2)
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]


def networks(config: Config):
  return Generator(config.width, config.channels), Critic(config.width)


def game(config: Config):
  """The adversarial game with the config's recipe (loss, optimizers, regularizers, EMA)."""
  return adversarial_game(config, *networks(config),
                          (config.image_size, config.image_size, config.channels))


def tinyconv() -> Config:
  """Tiny convolutions on the 8x8 digits, the hinge loss.
    JAXGAN_FAMILIES=plugin_family python train.py --config tinyconv
  """
  return Config(name='tinyconv', arch='tinyconv', dataset='digits', image_size=8, channels=1,
                loss='hinge', optimizer='adam', g_lr=2e-4, d_lr=2e-4, adam_b1=0.5,
                batch_size=32, steps=300, log_every=50, checkpoint_every=100, sample_grid=8,
                family=TinyConv(latent_dim=16, width=16, ema_decay=0.99))


FAMILY = families.register(families.Family(
    name='tinyconv', section=TinyConv, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check, presets={'tinyconv': tinyconv}))
