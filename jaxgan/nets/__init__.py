"""The networks, one module per kind, as Flax modules (a family builds them from its config:
`jaxgan.families`), and the layers they share.

  dcgan.py          the keras.io example's DCGAN, any size, conditional or not
  mlp.py            MLPs on 2-D points
  stylegan2.py      StyleGAN2's mapping, synthesis and discriminator (stylegan2-ada-pytorch's);
                    stylegan2_weights.py: its state dicts -> variables
  pggan.py          progressive growing's networks (progressive_growing_of_gans')
  translation.py    pix2pix's U-Net, CycleGAN's ResNet generator, the PatchGAN
                    (pytorch-CycleGAN-and-pix2pix's); translation_weights.py: its state dicts
  layers.py         fast convolutions, the phase-decomposed transposed convolution, Winograd's
                    (winograd.py), upfirdn2d, the minibatch standard deviation
"""

from jaxgan.nets import dcgan, mlp, pggan, stylegan2, translation
from jaxgan.nets.layers import PhaseConvTranspose

__all__ = ['PhaseConvTranspose', 'dcgan', 'mlp', 'pggan', 'stylegan2', 'translation']
