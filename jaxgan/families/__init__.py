"""The families of GANs, as plug-ins. Each is a module that declares its config section (fields,
defaults, checks), its networks, its game, its datasets, its presets, what its samples show and
the check its runs end with, and registers a `Family` under its name; this package is the only
place that lists them. A family of your own is a module of the same shape that calls `register`
(see docs/families.md): the loop, the tools and the commands then train, resume, sample and
check it as any other.

  dcgan       the keras.io example's DCGAN and its family (digits, dcgan64, dcgan32, wgan_gp,
              conditional)
  mlp2d       MLPs on 2-D mixtures (mlp2d)
  stylegan2   StyleGAN2 with ADA (stylegan2, stylegan2_cifar)
  pggan       progressive growing (pggan, pggan_celebahq)
  pix2pix     paired translation (pix2pix, pix2pix_256)
  cyclegan    unpaired translation (cyclegan, cyclegan_256)
  r3gan       R3GAN: the relativistic loss with R1 and R2, its modern ConvNet (r3gan, r3gan_cifar10)
  common      what the built-in families share; registry: `Family`, `register`, `of`
"""

from jaxgan.families.registry import (REGISTRY, Family, game, get, networks, of, presets,
                                      register)
from jaxgan.families import (cyclegan, dcgan, mlp2d, pggan, pix2pix, r3gan,  # noqa: E402,F401
                             stylegan2)

__all__ = ['Family', 'REGISTRY', 'game', 'get', 'networks', 'of', 'presets', 'register']
