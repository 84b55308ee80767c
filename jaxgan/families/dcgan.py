"""DCGAN: the keras.io example's convolutional GAN (`jaxgan.nets.dcgan`) and its family, at any
size, unconditional or class-conditional, with any loss and pieces of the adversarial game."""

import dataclasses

import jax.numpy as jnp

from jaxgan import mixtures
from jaxgan.config import BELOW_1, Config
from jaxgan.families.common import (Adversarial, Conditional, adversarial_game, latent_check,
                                    latent_dataset, num_classes)
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.nets import dcgan


@dataclasses.dataclass(frozen=True)
class DCGAN(Adversarial, Conditional):
  """The DCGAN family's fields (`jaxgan.nets.dcgan`)."""
  g_base: int = 8  # the generator's first feature map's side
  g_dense_features: int = 128  # its channels there
  g_widths: tuple[int, ...] = (128, 256, 512)  # the channels of each upsampling
  d_widths: tuple[int, ...] = (64, 128, 128)  # the discriminator's, each downsampling
  d_dropout: float = 0.2
  spectral_norm: bool = False  # spectral normalization of the discriminator's layers
  class_features: int = 32  # the conditional generator's class embedding

  RANGES = {'d_dropout': BELOW_1}
  STRUCTURE = (*Adversarial.STRUCTURE, 'g_base', 'g_dense_features', 'g_widths', 'd_widths',
               'spectral_norm', 'conditional', 'classes', 'class_features')

  def check(self, config: Config) -> None:
    super().check(config)
    size = self.g_base * 2 ** len(self.g_widths)
    if size != config.image_size:
      raise ValueError(f'generator makes {size}x{size} images (g_base {self.g_base}, '
                       f'{len(self.g_widths)} upsamplings) but image_size is {config.image_size}')
    if config.dataset in mixtures.MIXTURES:
      raise ValueError(f'arch dcgan cannot train on dataset {config.dataset!r}: the 2-D '
                       f'mixtures ({", ".join(mixtures.MIXTURES)}) go with arch mlp2d '
                       f'(--config mlp2d)')


def networks(config: Config):
  dtype = jnp.dtype(config.dtype)
  classes = num_classes(config)
  generator = dcgan.Generator(
      channels=config.channels, base=config.g_base, dense_features=config.g_dense_features,
      widths=config.g_widths, num_classes=classes, class_features=config.class_features,
      dtype=dtype)
  discriminator = dcgan.Discriminator(widths=config.d_widths, dropout=config.d_dropout,
                                      spectral_norm=config.spectral_norm, num_classes=classes,
                                      dtype=dtype)
  return generator, discriminator


def game(config: Config):
  return adversarial_game(config, *networks(config), image_shape(config))


def dcgan64() -> Config:
  """The keras.io example's DCGAN and recipe, exactly: 64x64x3, latent 128, Adam 1e-4, batch 32.

  Generator 3,979,651 parameters, discriminator 404,801 (as Keras' summary() counts). The
  example's `train_step` calls the discriminator without `training=True`, so Keras never
  activates its Dropout(0.2) (checked on TensorFlow 2.21, Keras 3.15); nor does this preset. On
  the example's data (CelebA unzipped into celeba_gan/, JPEGs found recursively):
    python train.py --config dcgan64 --dataset celeba_gan
  """
  return Config(name='dcgan64', image_size=64, channels=3, batch_size=32, steps=10_000,
                family=DCGAN(d_dropout=0.0))


def dcgan32() -> Config:
  """The keras.io example's family at 32x32x3 with narrower layers, for CPU work.

    python train.py --config dcgan32 --dataset tfds:cifar10 --data-dir ~/tensorflow_datasets
  """
  return Config(name='dcgan32', image_size=32, channels=3, batch_size=32, steps=5_000,
                family=DCGAN(g_base=4, g_widths=(128, 128, 64), d_widths=(64, 128, 128),
                             d_dropout=0.0))


def digits() -> Config:
  """The default: the keras.io example's family and loss at 16x16x1 on scikit-learn's digits.

  Trains in a few minutes on a 2-core CPU. DCGAN-paper Adam settings (2e-4, beta1 0.5) and a
  generator EMA for samples. Every 500 steps, the Frechet distance of 1,000 samples to the real
  digits in the digits' feature space (`eval/fd_digits`, with precision and recall) goes to
  metrics.jsonl, and the best checkpoint so far to best/.
    python train.py
  """
  return Config(name='digits', dataset='digits', image_size=16, channels=1, g_lr=2e-4,
                d_lr=2e-4, adam_b1=0.5, batch_size=64, steps=1_500, eval_every=500,
                family=DCGAN(latent_dim=64, g_base=4, g_widths=(128, 64), d_widths=(64, 128),
                             ema_decay=0.99))


def wgan_gp() -> Config:
  """WGAN-GP (Gulrajani et al. 2017) on the keras.io example's backbone at the digits' 16x16x1.

  A critic without sigmoid or dropout trained with the Wasserstein loss plus a gradient penalty
  of weight 10, 5 critic updates (each on its own real batch) per generator update, Adam 1e-4
  with betas (0, 0.9), as in the paper. About 0.45 s per step on a 2-core CPU: 8 minutes.
    python train.py --config wgan_gp
  """
  return digits().replace(name='wgan_gp', loss='wasserstein', gp_weight=10.0, n_critic=5,
                          d_dropout=0.0, optimizer='adam', g_lr=1e-4, d_lr=1e-4, adam_b1=0.0,
                          adam_b2=0.9, adam_eps=1e-8, steps=1_000,
                          sample_every=100)  # an epoch of the digits is only 5 steps here


def conditional() -> Config:
  """Class-conditional digits, SNGAN-style: a projection discriminator and the hinge loss.

  Class-conditional digits, SNGAN-style (Miyato et al. 2018; Miyato & Koyama 2018): a generator
  with a class embedding, a spectrally normalized projection discriminator, the hinge loss,
  Adam 2e-4 (0.5, 0.999), batch 64, a generator EMA. Each sample grid has a row per class; the
  final check asks the digits classifier whether each sample is of the class it was drawn for
  (`class_accuracy` in digits_check.json).
    python train.py --config conditional --workdir runs/conditional
    python -m jaxgan.sample --workdir runs/conditional --class 3 --num 64 --out threes.png
  """
  return digits().replace(name='conditional', conditional=True, spectral_norm=True,
                          loss='hinge', d_dropout=0.0, steps=2_000)


FAMILY = register(Family(
    name='dcgan', section=DCGAN, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check,
    presets={preset.__name__: preset for preset in (digits, dcgan64, dcgan32, wgan_gp,
                                                     conditional)}))
