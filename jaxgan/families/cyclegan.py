"""CycleGAN (Zhu et al. 2017) as pytorch-CycleGAN-and-pix2pix builds and trains it
(`jaxgan.nets.translation`: two ResNet generators, two PatchGANs; `jaxgan.games.cycle`), on two
unpaired domains: the digits plain and bold, or a folder in the reference's layout."""

import dataclasses

import jax
import jax.numpy as jnp

from jaxgan import data, games
from jaxgan.config import AT_LEAST_0, Config
from jaxgan.evaluate.translation import cycle_report
from jaxgan.families.common import Translation, translation_batch
from jaxgan.families.registry import Family, image_shape, register
from jaxgan.games import cycle
from jaxgan.generation import in_batches
from jaxgan.nets import translation
from jaxgan.step import to_model_range


@dataclasses.dataclass(frozen=True)
class CycleGAN(Translation):
  """CycleGAN's own fields (the reference's option in brackets)."""
  resnet_blocks: int = 9  # the generator's residual blocks [--netG resnet_9blocks, ...]
  cycle_weight: float = 10.0  # the cycle-consistency weight [--lambda_A, --lambda_B]
  identity_weight: float = 0.5  # the identity term, relative to the cycle's [--lambda_identity]
  pool_size: int = 50  # the pool of past translations per discriminator (0: none) [--pool_size]

  RANGES = {'cycle_weight': AT_LEAST_0, 'identity_weight': AT_LEAST_0, 'pool_size': AT_LEAST_0}
  STRUCTURE = (*Translation.STRUCTURE, 'resnet_blocks', 'pool_size')

  def check(self, config: Config) -> None:
    super().check(config)
    if config.image_size % 4:
      raise ValueError(f'the ResNet generator halves the image twice: image_size must be a '
                       f'multiple of 4, not {config.image_size}')


def networks(config: Config):
  """One generator and one discriminator: the game has two of each."""
  dtype = jnp.dtype(config.dtype)
  return (translation.ResnetGenerator(channels=config.channels, blocks=config.resnet_blocks,
                                      ngf=config.ngf, norm=config.norm,
                                      dropout=config.g_dropout, dtype=dtype),
          translation.PatchDiscriminator(n_layers=config.d_layers, ndf=config.ndf,
                                         norm=config.norm, dtype=dtype))


def game(config: Config):
  generator, discriminator = networks(config)
  optimizers, rates = games.optimizers(
      config, {**{name: (config.g_lr, config.steps) for name in cycle.GENERATORS},
               **{name: (config.d_lr, config.steps) for name in cycle.DISCRIMINATORS}})
  return cycle.game({'G_ab': generator, 'G_ba': generator, 'D_a': discriminator,
                     'D_b': discriminator}, optimizers=optimizers,
                    sample_shape=image_shape(config), loss=games.loss_of(config),
                    cycle_weight=config.cycle_weight, identity_weight=config.identity_weight,
                    pool_size=config.pool_size,
                    grid_count=config.sample_grid ** 2)._replace(learning_rates=rates)


def dataset(config: Config, data_dir=None, report=print) -> data.Dataset:
  return data.load_unpaired(config.dataset, config.image_size, config.channels, data_dir,
                            report=report)


def check(config: Config, game):
  """On the embedded domains (`digits_styles`), cycle_check: on the held-out digits in both
  styles, the digits classifier's reading of the bold digits translated to plain ones, and a
  domain classifier's on both directions' translations
  (`jaxgan.evaluate.translation.cycle_report`)."""
  if config.dataset.partition(':')[0] not in data.UNPAIRED_EMBEDDED:
    return None

  def measure(state, samples_of, in_unit_range):
    del samples_of  # both generators translate, from the whole state
    translator = jax.jit(networks(config)[0].apply)
    translate = lambda name, images: in_unit_range(in_batches(
        lambda batch: translator(state.variables(name), batch['source']),
        {'source': to_model_range(images, game.value_range)}, config.batch_size))
    a, b, labels = data.digit_styles(config.image_size, config.channels, 'holdout')
    train_a, train_b, _ = data.digit_styles(config.image_size, config.channels, 'train')
    return cycle_report(translate('G_ab', a), translate('G_ba', b), labels, (a, b),
                        (train_a, train_b))
  return 'cycle_check', measure


def example_inputs(config: Config):
  image = jnp.zeros((1, *image_shape(config)))
  return (image,), (image,)  # G(image), D(image)


def cyclegan_256() -> Config:
  """CycleGAN as pytorch-CycleGAN-and-pix2pix trains it at 256x256, for accelerators.

  CycleGAN (Zhu et al. 2017) as pytorch-CycleGAN-and-pix2pix trains it at 256x256
  (`models/cycle_gan_model.py`, `options/`): two `resnet_9blocks` generators (11,378,179
  parameters each) and two 70x70 PatchGANs with instance norm (2,764,737 each), the LSGAN loss,
  cycle weight 10, identity 0.5, a pool of 50 translations per discriminator, Adam 2e-4 with
  betas (0.5, 0.999), batch 1, 200 epochs of horse2zebra's 1,334 examples (the rate constant
  for the first half, then linearly to 0), mirrored images, no dropout. The reference jitters
  (resizes to 286 and crops 256); here the images are only resized. For accelerators:
    python train.py --config cyclegan_256 --dataset datasets/horse2zebra
  """
  return Config(name='cyclegan_256', arch='cyclegan', dataset='datasets/horse2zebra',
                image_size=256, channels=3, loss='lsgan', optimizer='adam', g_lr=2e-4,
                d_lr=2e-4, adam_b1=0.5, adam_b2=0.999, adam_eps=1e-8, lr_decay='linear',
                hflip=True, batch_size=1, steps=266_800, log_every=100, checkpoint_every=5_000,
                sample_every=5_000, sample_grid=2,
                family=CycleGAN(resnet_blocks=9, ngf=64, ndf=64, d_layers=3, norm='instance',
                                g_dropout=False, cycle_weight=10.0, identity_weight=0.5,
                                pool_size=50))


def cyclegan() -> Config:
  """CycleGAN on an offline task: the digits, plain and bold, unpaired, at 32x32.

  CycleGAN on an offline task: the digits as they are (A) and in bold (B: strokes thickened
  by a 5x5 maximum), unpaired (`digits_styles`), with cyclegan_256's recipe on smaller networks (3
  residual blocks, 16 channels, a PatchGAN of 2 stride-2 layers) and batch 16. At the end,
  cycle_check.json: whether the digits classifier still reads each held-out bold digit
  translated back, and whether a domain classifier puts each direction's translations in the
  target domain.
    python train.py --config cyclegan
  """
  return cyclegan_256().replace(
      name='cyclegan', dataset='digits_styles', image_size=32, channels=1, resnet_blocks=3,
      ngf=16, ndf=16, d_layers=2, hflip=False, batch_size=16, steps=1_000, log_every=50,
      checkpoint_every=500, sample_every=250, sample_grid=4)


FAMILY = register(Family(
    example_batch=translation_batch,
    name='cyclegan', section=CycleGAN, networks=networks, game=game, dataset=dataset,
    check=check, example_inputs=example_inputs,
    presets={'cyclegan': cyclegan, 'cyclegan_256': cyclegan_256}))
