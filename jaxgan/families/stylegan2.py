"""StyleGAN2 (Karras et al. 2020) as stylegan2-ada-pytorch builds and trains it
(`jaxgan.nets.stylegan2`: its mapping and synthesis networks, its discriminator; the lazy
regularization phases, path length, style mixing, the EMA's half-life and ADA through the
adversarial game), unconditional or class-conditional, with Freeze-D for fine-tuning."""

import dataclasses

import jax
import optax

from jaxgan import games, mixtures
from jaxgan.config import AT_LEAST_0, FRACTION, Config
from jaxgan.families.common import (Adversarial, Conditional, adversarial_options, latent_check,
                                    latent_dataset, num_classes)
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.games import adversarial
from jaxgan.nets import stylegan2 as networks_of_stylegan2


@dataclasses.dataclass(frozen=True)
class StyleGAN2(Adversarial, Conditional):
  """StyleGAN2's fields (`jaxgan.nets.stylegan2`; latent_dim is z's size)."""
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

  RANGES = {'style_mixing': FRACTION, 'freeze_d': AT_LEAST_0}
  STRUCTURE = (*Adversarial.STRUCTURE, 'conditional', 'classes', 'w_dim', 'mapping_layers',
               'channel_base', 'channel_max', 'd_architecture', 'mbstd_channels',
               'd_mapping_layers')

  @property
  def batch_group(self) -> int:
    return self.mbstd_group

  def check(self, config: Config) -> None:
    super().check(config)
    if config.image_size < 8 or config.image_size & (config.image_size - 1):
      raise ValueError(f'stylegan2 makes images of a power of two from 8, not '
                       f'{config.image_size}')
    if config.dtype != 'float32':
      raise ValueError('stylegan2 computes in float32 for now (--dtype bfloat16 is not wired '
                       'into its networks yet)')
    if self.d_architecture not in ('resnet', 'orig'):
      raise ValueError(f"d_architecture must be 'resnet' or 'orig', got {self.d_architecture!r}")
    if config.dataset in mixtures.MIXTURES:
      raise ValueError(f'arch stylegan2 cannot train on dataset {config.dataset!r}: the 2-D '
                       f'mixtures go with arch mlp2d (--config mlp2d)')


def networks(config: Config):
  sizes = dict(resolution=config.image_size, channels=config.channels,
               num_classes=num_classes(config), channel_base=config.channel_base,
               channel_max=config.channel_max)
  return (networks_of_stylegan2.Generator(z_dim=config.latent_dim, w_dim=config.w_dim,
                              mapping_layers=config.mapping_layers,
                              style_mixing_prob=config.style_mixing, **sizes),
          networks_of_stylegan2.Discriminator(architecture=config.d_architecture,
                                  mapping_layers=config.d_mapping_layers,
                                  mbstd_group_size=config.mbstd_group,
                                  mbstd_num_channels=config.mbstd_channels, **sizes))


def frozen(optimizer, config: Config):
  """`optimizer` with Freeze-D: the discriminator's first `freeze_d` layers (the reference's
  numbering: fromrgb, conv0, conv1, skip of the first block, ...) take no updates."""
  layers = set(networks_of_stylegan2.discriminator_layers(config.image_size, config.d_architecture)
               [:config.freeze_d])
  return optax.multi_transform(
      {'train': optimizer, 'frozen': optax.set_to_zero()},
      lambda params: jax.tree.map_with_path(
          lambda path, _: 'frozen' if tuple(str(getattr(k, 'key', k)) for k in path[:2])
          in layers else 'train', params))


def game(config: Config):
  pieces = games.recipe(config)
  if config.freeze_d:
    pieces = pieces._replace(optimizers={**pieces.optimizers,
                                         'D': frozen(pieces.optimizers['D'], config)})
  return adversarial.game(
      *networks(config), **adversarial_options(config, pieces, image_shape(config),
                                               value_range=(-1.0, 1.0), joint_critic=False)
  )._replace(learning_rates=pieces.learning_rates)


def stylegan2_cifar() -> Config:
  """StyleGAN2 as stylegan2-ada-pytorch's `--cfg cifar`, 32x32x3, for accelerators.

  StyleGAN2 as stylegan2-ada-pytorch's `--cfg cifar` (`train.py`'s cfg_specs): 32x32x3, z and
  w 512, a 2-layer mapping network, 512 channels at every resolution (channel_base 32768), the
  'orig' discriminator with minibatch-stddev groups of 32; non-saturating loss, lazy R1 with
  gamma 0.01 every 16 steps as its own Adam step (Adam 0.0025, betas (0, 0.99), eps 1e-8, rate
  and betas corrected for the extra steps: the discriminator's for R1's interval of 16, the
  generator's for its interval of 4, which the reference keeps with the path length off), no
  path length penalty and no style mixing (the reference disables both for cifar), ADA ('bgc',
  target 0.6, adjusted every 4 steps at 500 kimg: its `--aug` default), batch 64, a generator
  EMA with a half-life of 500k images ramped up over the first 5% of the images, 100,000 kimg
  (1,562,500 steps). The reference's float16 layers and their clamping are left out (float32).
  For accelerators:
    python train.py --config stylegan2_cifar --dataset tfds:cifar10 --data-dir DIR
  """
  return Config(name='stylegan2_cifar', arch='stylegan2', dataset='digits', image_size=32,
                channels=3, loss='non_saturating', optimizer='adam', g_lr=0.0025, d_lr=0.0025,
                adam_b1=0.0, adam_b2=0.99, adam_eps=1e-8, batch_size=64, steps=1_562_500,
                log_every=100, checkpoint_every=5_000, sample_every=5_000,
                family=StyleGAN2(latent_dim=512, w_dim=512, mapping_layers=2,
                                 channel_base=32768, channel_max=512, mbstd_group=32,
                                 d_architecture='orig', r1_gamma=0.01, r1_every=16,
                                 regularizer_steps=True, augment='ada', ema_kimg=500.0,
                                 ema_rampup=0.05))


def stylegan2() -> Config:
  """StyleGAN2 with the reference's recipe on the digits at 32x32, small enough for a CPU.

  StyleGAN2 with the reference's training recipe, small enough for a CPU: the digits at
  32x32x1, z and w 128, a 2-layer mapping network, channels min(1024 // r, 64); non-saturating
  loss, lazy R1 (every 16 steps) and the path length penalty (weight 2, every 4 steps, decay
  0.01, on half the batch) as their own Adam steps (betas (0, 0.99), rates and betas corrected),
  style mixing with probability 0.9, a generator EMA with a half-life of 10k images ramped up
  over the first 5% (stylegan2-ada-pytorch's 'auto' at batch 32), and ADA ('bgc').
  Three values depart from the reference's for this short run on 1,347 tiny images (measured
  at 1,500 steps: the reference's values collapsed to a few shapes, these gave varied digits):
  R1 gamma 0.1 (the reference's heuristic gives 0.0064 here), Adam 0.002 (0.0025), and ADA's p
  allowed to move 50 times faster (ada_kimg 10, not 500: the reference's would take 16k steps
  to reach p = 1).
    python train.py --config stylegan2
  """
  return stylegan2_cifar().replace(
      name='stylegan2', channels=1, latent_dim=128, w_dim=128, channel_base=1024,
      channel_max=64, mbstd_group=4, d_architecture='resnet', pl_weight=2.0, style_mixing=0.9,
      r1_gamma=0.1, g_lr=0.002, d_lr=0.002, augment='ada', ada_kimg=10.0, ema_kimg=10.0,
      batch_size=32, steps=2_000, log_every=50, checkpoint_every=500, sample_every=250,
      eval_every=500)


FAMILY = register(Family(
    name='stylegan2', section=StyleGAN2, networks=networks, game=game, dataset=latent_dataset,
    check=latent_check, sampling_options=('truncation_psi', 'noise_mode'),
    presets={'stylegan2': stylegan2, 'stylegan2_cifar': stylegan2_cifar}))
