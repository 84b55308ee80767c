"""jaxgan: generative adversarial networks in pure JAX.

Flax modules define the networks; `make_train_step` returns one pure, jittable
`train_step(state, images) -> (state, metrics)` over a `GANState` pytree; losses and optimizers
are values passed in.
"""

from jaxgan import configs, losses, nets
from jaxgan.config import Config
from jaxgan.losses import GANLoss, seed_bce
from jaxgan.nets.layers import PhaseConvTranspose
from jaxgan.optim import keras_adam
from jaxgan.state import GANState
from jaxgan.step import make_train_step

__all__ = ['Config', 'GANLoss', 'GANState', 'PhaseConvTranspose', 'configs', 'keras_adam',
           'losses', 'make_train_step', 'nets', 'seed_bce']
