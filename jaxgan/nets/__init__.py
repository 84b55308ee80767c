"""Network families. `build(config)` returns the (generator, discriminator) a config names."""

import jax.numpy as jnp

from jaxgan.nets import dcgan, mlp, pggan, stylegan2, translation
from jaxgan.nets.layers import PhaseConvTranspose

ARCHS = ('dcgan', 'mlp2d', 'stylegan2', 'pggan', 'pix2pix', 'cyclegan')


def build(config):
  """The generator and discriminator modules described by a `jaxgan.config.Config`."""
  dtype = jnp.dtype(config.dtype)
  if config.arch == 'mlp2d':
    return (mlp.Generator(widths=config.g_widths, features=2, dtype=dtype),
            mlp.Discriminator(widths=config.d_widths, spectral_norm=config.spectral_norm,
                              dtype=dtype))
  if config.arch == 'stylegan2':
    sizes = dict(resolution=config.image_size, channels=config.channels,
                 num_classes=num_classes(config), channel_base=config.channel_base,
                 channel_max=config.channel_max)
    return (stylegan2.Generator(z_dim=config.latent_dim, w_dim=config.w_dim,
                                mapping_layers=config.mapping_layers,
                                style_mixing_prob=config.style_mixing, **sizes),
            stylegan2.Discriminator(architecture=config.d_architecture,
                                    mapping_layers=config.d_mapping_layers,
                                    mbstd_group_size=config.mbstd_group,
                                    mbstd_num_channels=config.mbstd_channels, **sizes))
  if config.arch == 'pggan':
    sizes = dict(resolution=config.image_size, channels=config.channels,
                 channel_base=config.channel_base, channel_max=config.channel_max, dtype=dtype)
    return (pggan.Generator(**sizes),
            pggan.Discriminator(mbstd_group_size=config.mbstd_group, **sizes))
  if config.arch == 'pix2pix':
    return (translation.UNetGenerator(channels=config.channels, num_downs=config.num_downs,
                                      ngf=config.ngf, norm=config.norm,
                                      dropout=config.g_dropout, dtype=dtype),
            translation.PatchDiscriminator(n_layers=config.d_layers, ndf=config.ndf,
                                           norm=config.norm, dtype=dtype))
  if config.arch == 'cyclegan':  # one of each; the game has two of each
    return (translation.ResnetGenerator(channels=config.channels, blocks=config.resnet_blocks,
                                        ngf=config.ngf, norm=config.norm,
                                        dropout=config.g_dropout, dtype=dtype),
            translation.PatchDiscriminator(n_layers=config.d_layers, ndf=config.ndf,
                                           norm=config.norm, dtype=dtype))
  if config.arch != 'dcgan':
    raise ValueError(f'unknown arch {config.arch!r}; known: {", ".join(ARCHS)}')
  generator = dcgan.Generator(
      channels=config.channels, base=config.g_base, dense_features=config.g_dense_features,
      widths=config.g_widths, num_classes=num_classes(config),
      class_features=config.class_features, dtype=dtype)
  discriminator = dcgan.Discriminator(widths=config.d_widths, dropout=config.d_dropout,
                                      spectral_norm=config.spectral_norm,
                                      num_classes=num_classes(config), dtype=dtype)
  return generator, discriminator


def num_classes(config) -> int:
  """The classes the networks condition on (0: unconditional). A conditional config's
  `classes` come from its dataset (`jaxgan.train.run` fills them in)."""
  if config.conditional and not config.classes:
    raise ValueError('a conditional config needs its classes (jaxgan.train.run takes them from '
                     'the dataset)')
  return len(config.classes) if config.conditional else 0


def sample_key(config) -> str:
  """The batch entry the discriminator's real samples come from (`jaxgan.data`)."""
  return 'point' if config.arch == 'mlp2d' else 'image'


def example_inputs(config) -> tuple[tuple, tuple]:
  """The generator's and the discriminator's positional inputs for one sample (zeros): what
  `--summary` traces them on."""
  image = jnp.zeros((1, *sample_shape(config)))
  if config.arch == 'pix2pix':  # G(source), D(image, source)
    return (image,), (image, image)
  if config.arch == 'cyclegan':  # G(image), D(image)
    return (image,), (image,)
  labels = (jnp.zeros((1,), jnp.int32),) if config.conditional else ()
  return (jnp.zeros((1, config.latent_dim)), *labels), (image, *labels)


def sample_shape(config) -> tuple[int, ...]:
  """The shape of one training sample: an image, or a 2-D point for mlp2d."""
  if config.arch == 'mlp2d':
    return (2,)
  return (config.image_size, config.image_size, config.channels)


__all__ = ['ARCHS', 'PhaseConvTranspose', 'build', 'dcgan', 'example_inputs', 'mlp',
           'num_classes', 'pggan', 'sample_key', 'sample_shape', 'stylegan2', 'translation']
