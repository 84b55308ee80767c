"""Network families. `build(config)` returns the (generator, discriminator) a config names."""

from jaxgan.nets import dcgan
from jaxgan.nets.layers import PhaseConvTranspose


def build(config):
  """The generator and discriminator modules described by a `jaxgan.config.Config`."""
  if config.arch != 'dcgan':
    raise ValueError(f'unknown arch {config.arch!r}; known: dcgan')
  generator = dcgan.Generator(
      channels=config.channels, base=config.g_base, dense_features=config.g_dense_features,
      widths=config.g_widths)
  discriminator = dcgan.Discriminator(widths=config.d_widths, dropout=config.d_dropout)
  return generator, discriminator


__all__ = ['PhaseConvTranspose', 'build', 'dcgan']
