"""jaxgan: generative adversarial networks in pure JAX.

Flax modules define the networks; `make_train_step` returns one pure, jittable
`train_step(state, batch) -> (state, metrics)` over a `GANState` pytree; losses, regularizers,
augmentations and optimizers are values passed in; `DataParallel` runs the step over devices.
"""

from jaxgan import augment, configs, losses, nets, regularizers
from jaxgan.config import Config
from jaxgan.losses import GANLoss, seed_bce
from jaxgan.nets.layers import PhaseConvTranspose
from jaxgan.optim import keras_adam
from jaxgan.parallel import DataParallel
from jaxgan.regularizers import Regularizer
from jaxgan.state import GANState
from jaxgan.step import make_train_step

__all__ = ['Config', 'DataParallel', 'GANLoss', 'GANState', 'PhaseConvTranspose', 'Regularizer',
           'augment', 'configs', 'keras_adam', 'losses', 'make_train_step', 'nets',
           'regularizers', 'seed_bce']
