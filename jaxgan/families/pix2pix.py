"""pix2pix (Isola et al. 2017) as pytorch-CycleGAN-and-pix2pix builds and trains it
(`jaxgan.nets.translation`: the U-Net against the PatchGAN; `jaxgan.games.paired`), on paired
images: an embedded super-resolution task, or a folder in the reference's layouts."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import data, games
from jaxgan.config import AT_LEAST_0, Config
from jaxgan.evaluate.translation import super_resolution_report
from jaxgan.families.common import Translation, translation_batch
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.games import paired
from jaxgan.nets import translation
from jaxgan.step import to_model_range


@dataclasses.dataclass(frozen=True)
class Pix2Pix(Translation):
  """pix2pix's own fields (the reference's option in brackets)."""
  num_downs: int = 8  # the U-Net's halvings [--netG unet_256: 8, unet_128: 7]
  l1_weight: float = 100.0  # the L1 distance to the target in G's loss [--lambda_L1]
  direction: str = 'AtoB'  # a paired folder's source side: A (left, or A/) or B [--direction]

  RANGES = {'l1_weight': AT_LEAST_0}
  STRUCTURE = (*Translation.STRUCTURE, 'num_downs')

  def check(self, config: Config) -> None:
    super().check(config)
    if self.num_downs < 5 or config.image_size % 2 ** self.num_downs:
      raise ValueError(f'a U-Net of num_downs {self.num_downs} (at least 5) needs an '
                       f'image_size that is a multiple of {2 ** self.num_downs}, not '
                       f'{config.image_size}')
    if self.direction not in ('AtoB', 'BtoA'):
      raise ValueError(f"direction must be AtoB or BtoA, got {self.direction!r}")


def networks(config: Config):
  dtype = jnp.dtype(config.dtype)
  return (translation.UNetGenerator(channels=config.channels, num_downs=config.num_downs,
                                    ngf=config.ngf, norm=config.norm, dropout=config.g_dropout,
                                    dtype=dtype),
          translation.PatchDiscriminator(n_layers=config.d_layers, ndf=config.ndf,
                                         norm=config.norm, dtype=dtype))


def game(config: Config):
  optimizers, rates = games.optimizers(config, {'G': (config.g_lr, config.steps),
                                                'D': (config.d_lr, config.steps)})
  return paired.game(*networks(config), optimizers=optimizers, sample_shape=image_shape(config),
                     loss=games.loss_of(config), l1_weight=config.l1_weight,
                     grid_count=config.sample_grid ** 2)._replace(learning_rates=rates)


def dataset(config: Config, data_dir=None, report=print) -> data.Dataset:
  return data.load_pairs(config.dataset, config.image_size, config.channels, data_dir,
                         report=report, direction=config.direction)


def check(config: Config, game):
  """On an embedded task (`digits_x4`), translation_check: L1 and PSNR of the generator's
  translations of the held-out pairs, and of bicubic upsampling of the same sources
  (`jaxgan.evaluate.translation`)."""
  name = config.dataset.partition(':')[0]
  if name not in data.PAIRED_EMBEDDED:
    return None

  def measure(state, samples_of, in_unit_range):
    del state  # the translations come from `samples_of`
    pairs = data.load_pairs(f'{name}:holdout', config.image_size, config.channels).examples
    held_out = pairs.batch(np.arange(len(pairs)))
    sources = to_model_range(held_out['source'], game.value_range)
    outputs = samples_of({'source': sources, 'dropout': jax.random.key(config.seed + 1)})
    low = held_out['source'][:, ::data.SUPER_RESOLUTION, ::data.SUPER_RESOLUTION]
    return super_resolution_report(in_unit_range(outputs), held_out['image'], low)
  return 'translation_check', measure


def example_inputs(config: Config):
  image = jnp.zeros((1, *image_shape(config)))
  return (image,), (image, image)  # G(source), D(image, source)


def pix2pix_256() -> Config:
  """pix2pix as pytorch-CycleGAN-and-pix2pix trains it at 256x256, for accelerators.

  pix2pix (Isola et al. 2017) as pytorch-CycleGAN-and-pix2pix trains it at 256x256
  (`models/pix2pix_model.py`, `options/`): the U-Net `unet_256` (54,413,955 parameters) against
  the 70x70 PatchGAN `basic` (2,768,705, seeing source and image: 6 channels), batch norm,
  dropout, the vanilla GAN loss plus 100 x L1, Adam 2e-4 with betas (0.5, 0.999), batch 1,
  200 epochs of facades' 400 pairs (the rate constant for the first half, then linearly to 0),
  mirrored pairs; facades goes from its labels (B) to the photos (A). The reference jitters
  (resizes to 286 and crops 256); here the images are only resized. For accelerators:
    python train.py --config pix2pix_256 --dataset datasets/facades/train
  """
  return Config(name='pix2pix_256', arch='pix2pix', dataset='datasets/facades/train',
                image_size=256, channels=3, loss='non_saturating', optimizer='adam', g_lr=2e-4,
                d_lr=2e-4, adam_b1=0.5, adam_b2=0.999, adam_eps=1e-8, lr_decay='linear',
                hflip=True, batch_size=1, steps=80_000, log_every=100, checkpoint_every=4_000,
                sample_every=4_000, sample_grid=1,
                family=Pix2Pix(direction='BtoA', num_downs=8, ngf=64, ndf=64, d_layers=3,
                               norm='batch', g_dropout=True, l1_weight=100.0))


def pix2pix() -> Config:
  """pix2pix on an offline task: 4x super-resolution of the digits at 32x32.

  pix2pix on an offline task: 4x super-resolution of the digits (`digits_x4`: each digit
  box-filtered to 8x8 and enlarged back by repeating pixels, to the 32x32 digit), with
  pix2pix_256's recipe on smaller networks (a U-Net of 5 halvings and 32 channels, a PatchGAN
  of 2 stride-2 layers) and batch 32. At the end, translation_check.json: L1 and PSNR on the
  450 held-out pairs, beside bicubic upsampling of the same sources.
    python train.py --config pix2pix
  """
  return pix2pix_256().replace(
      name='pix2pix', dataset='digits_x4', direction='AtoB', image_size=32, channels=1,
      num_downs=5, ngf=32, ndf=32, d_layers=2, hflip=False, batch_size=32, steps=1_500,
      log_every=50, checkpoint_every=500, sample_every=250, sample_grid=4)


FAMILY = register(Family(
    example_batch=translation_batch,
    name='pix2pix', section=Pix2Pix, networks=networks, game=game, dataset=dataset, check=check,
    example_inputs=example_inputs, presets={'pix2pix': pix2pix, 'pix2pix_256': pix2pix_256}))
