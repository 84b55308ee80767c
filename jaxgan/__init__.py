"""jaxgan: generative adversarial networks in pure JAX.

Flax modules define the networks; a `Game` (`jaxgan.games`) holds them with their losses,
regularizers, augmentations and optimizers, all values, and makes one pure, jittable
`train_step(state, batch) -> (state, metrics)` over a `GANState` pytree; `DataParallel` runs the
step over devices; `jaxgan.train.run` is the one loop every game plays in. A family of GANs
(`jaxgan.families`: DCGAN, MLPs on 2-D mixtures, StyleGAN2, progressive growing, pix2pix,
CycleGAN, or your own) turns a `Config` into its networks, its game and its data.
"""

from jaxgan import augment, configs, families, games, losses, nets, regularizers
from jaxgan.config import Config
from jaxgan.games import Game
from jaxgan.losses import GANLoss, keras_bce
from jaxgan.nets.layers import PhaseConvTranspose
from jaxgan.optim import keras_adam
from jaxgan.parallel import DataParallel
from jaxgan.regularizers import Regularizer
from jaxgan.state import GANState
from jaxgan.step import Context

__all__ = ['Config', 'Context', 'DataParallel', 'GANLoss', 'GANState', 'Game',
           'PhaseConvTranspose', 'Regularizer', 'augment', 'configs', 'families', 'games',
           'keras_adam', 'losses', 'nets', 'regularizers', 'keras_bce']
