"""Presets: one function per model, each returning a `Config`. `get(name)` looks one up."""

from jaxgan.config import Config


def dcgan64() -> Config:
  """The seed's DCGAN and recipe, exactly: 64x64x3, latent 128, Adam 1e-4, batch 32.

  Generator 3,979,651 parameters, discriminator 404,801 (as Keras' summary() counts). On the
  seed's data (CelebA unzipped into celeba_gan/, JPEGs found recursively):
    python train.py --config dcgan64 --dataset celeba_gan
  """
  return Config(name='dcgan64', image_size=64, channels=3, batch_size=32, steps=10_000)


def dcgan32() -> Config:
  """The seed's family at 32x32x3 with narrower layers, for CPU work.

    python train.py --config dcgan32 --dataset tfds:cifar10 --data-dir ~/tensorflow_datasets
  """
  return Config(name='dcgan32', image_size=32, channels=3, g_base=4, g_widths=(128, 128, 64),
                d_widths=(64, 128, 128), batch_size=32, steps=5_000)


def digits() -> Config:
  """The default: the seed's family and loss at 16x16x1 on scikit-learn's 1,797 digits.

  Trains in a few minutes on a 2-core CPU. DCGAN-paper Adam settings (2e-4, beta1 0.5) and a
  generator EMA for samples.
    python train.py
  """
  return Config(name='digits', dataset='digits', image_size=16, channels=1, latent_dim=64,
                g_base=4, g_widths=(128, 64), d_widths=(64, 128), g_lr=2e-4, d_lr=2e-4,
                adam_b1=0.5, ema_decay=0.99, batch_size=64, steps=1_500)


PRESETS = {preset.__name__: preset for preset in (digits, dcgan64, dcgan32)}
DEFAULT = 'digits'


def get(name: str) -> Config:
  if name not in PRESETS:
    raise KeyError(f'unknown config {name!r}; presets: {", ".join(PRESETS)}')
  return PRESETS[name]()
