"""MLPs on 2-D points: the mode-collapse benchmark's family (`jaxgan.nets.mlp`), trained on the
Gaussian mixtures of VEEGAN and PacGAN (`jaxgan.mixtures`) and scored by their protocol."""

import dataclasses

import jax.numpy as jnp

from jaxgan import mixtures
from jaxgan.config import Config
from jaxgan.evaluate import modes
from jaxgan.families.common import (Adversarial, adversarial_game, draw_points, latent_check,
                                    latent_dataset)
from jaxgan.families.registry import Family, register
from jaxgan.nets import mlp

POINT = (2,)


@dataclasses.dataclass(frozen=True)
class MLP2D(Adversarial):
  """The MLPs' widths (`jaxgan.nets.mlp`)."""
  g_widths: tuple[int, ...] = (128, 256, 512)  # the generator's hidden layers
  d_widths: tuple[int, ...] = (64, 128, 128)  # the discriminator's
  spectral_norm: bool = False  # spectral normalization of the discriminator's layers

  STRUCTURE = (*Adversarial.STRUCTURE, 'g_widths', 'd_widths', 'spectral_norm')

  def check(self, config: Config) -> None:
    super().check(config)
    if config.dataset not in mixtures.MIXTURES:
      raise ValueError(f'arch mlp2d cannot train on dataset {config.dataset!r}: it trains on '
                       f'the 2-D mixtures ({", ".join(mixtures.MIXTURES)}); images go with '
                       f'arch dcgan')


def networks(config: Config):
  dtype = jnp.dtype(config.dtype)
  return (mlp.Generator(widths=config.g_widths, features=2, dtype=dtype),
          mlp.Discriminator(widths=config.d_widths, spectral_norm=config.spectral_norm,
                            dtype=dtype))


def game(config: Config):
  return adversarial_game(config, *networks(config), POINT, sample_key='point',
                          grid_count=modes.NUM_SAMPLES)


def example_inputs(config: Config):
  return (jnp.zeros((1, config.latent_dim)),), (jnp.zeros((1, *POINT)),)


def mlp2d() -> Config:
  """MLPs on a 2-D Gaussian mixture: the mode-collapse benchmark's recipe (about a minute).

  A 2-D latent, 3x128 ReLU generator, 3x128 LeakyReLU discriminator; the non-saturating loss
  with lazy R1 (gamma 0.1 every 8 steps); Adam 1e-3 (0.5, 0.999) with cosine decay to 0 over
  40,000 steps of batch 128; samples from a generator EMA. `dataset`: grid25 or ring8.
    python train.py --config mlp2d --dataset ring8
    python benchmarks/modes.py
  """
  return Config(name='mlp2d', arch='mlp2d', dataset='grid25', loss='non_saturating',
                optimizer='adam', g_lr=1e-3, d_lr=1e-3, adam_b1=0.5, adam_b2=0.999,
                adam_eps=1e-8, lr_decay='cosine', batch_size=128, steps=40_000,
                log_every=1_000, checkpoint_every=10_000, sample_every=10_000,
                family=MLP2D(latent_dim=2, g_widths=(128, 128, 128), d_widths=(128, 128, 128),
                             r1_gamma=0.1, r1_every=8, ema_decay=0.999))


FAMILY = register(Family(
    example_batch=lambda config, samples: {'point': samples},
    name='mlp2d', section=MLP2D, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check, draw=draw_points, example_inputs=example_inputs,
    sample_shape=lambda config: POINT, presets={'mlp2d': mlp2d}))
