"""The paired translation game (pix2pix, Isola et al. 2017): `G(source)` against `D(image, source)`.

As junyanz/pytorch-CycleGAN-and-pix2pix's `models/pix2pix_model.py` (`optimize_parameters`)
plays it, each step:

1. the generator translates the batch's sources once, `fake = G(source)`, in training mode
   (batch statistics; dropout, its only noise, from the 'dropout' stream);
2. the discriminator's update on `D(fake, source)` (no gradient to G) and `D(image, source)`,
   two forward passes, each with its own batch statistics, on `0.5 * loss.discriminator(...)`;
3. the generator's update on the same `fake` through the updated discriminator:
   `loss.generator(D(fake, source)) + l1_weight * mean|fake - image|`. G's forward pass is not
   repeated: its gradient comes from the `jax.vjp` of step 1, as the reference backpropagates
   through the graph it built there.

The reference's defaults (`pix2pix_model.py`, `options/train_options.py`): the vanilla GAN loss
(binary cross-entropy on logits: `losses.non_saturating`), L1 weight 100, Adam 2e-4 with betas
(0.5, 0.999) for both networks, batch norm, dropout in the U-Net, no image pool, the learning
rate constant for half the run then decaying linearly (`--set lr_decay=linear`). The batch
norms' running statistics advance with every training-mode forward pass, as torch's do (the
discriminator's three times a step, the generator's once); data-parallel, each device
normalizes by its own batch's statistics, as torch's `DataParallel` does.

Networks: `G(source, train=..., update_stats=...)` and `D(image, condition, train=...,
update_stats=...)`, as `jaxgan.nets.translation` builds them. Batches: `source` and `image`.
Samples: `G`'s translations of `inputs['source']`, in training mode as the reference's
`test.py` runs it by default (batch statistics of the images translated together, dropout
from `inputs['dropout']`); the sample grids show the run's first pairs as source, translation
and target side by side.
"""

import jax
import jax.numpy as jnp

from jaxgan import losses
from jaxgan.games import Game
from jaxgan.state import GANState
from jaxgan.step import Context, run_network, to_model_range

VALUE_RANGE = (-1.0, 1.0)  # the generator ends in tanh
DROPOUT_STREAM = 1  # fold_in id of the sampling dropout key in the grid's key


def game(generator, discriminator, optimizers: dict, sample_shape: tuple[int, ...],
         source_shape: tuple[int, ...] | None = None, loss: losses.GANLoss | None = None,
         l1_weight: float = 100.0, grid_count: int = 16) -> Game:
  """The pix2pix `Game` of `generator` against the conditional `discriminator`, trained by
  `optimizers` (`{'G': ..., 'D': ...}`). `sample_shape`: one target image's; `source_shape`: one
  source's (default the same)."""
  loss = loss or losses.non_saturating()
  source_shape = source_shape or sample_shape

  def init(key):
    k_g, k_d, k_train = jax.random.split(jax.random.fold_in(key, 0), 3)
    source = jnp.zeros((1, *source_shape))

    @jax.jit
    def variables():
      return {'G': generator.init(k_g, source, train=False),
              'D': discriminator.init(k_d, jnp.zeros((1, *sample_shape)), source, train=False)}
    return GANState.create(k_train, variables(), optimizers)

  def make_step(axis_name: str | None = None, stage: int = 0):
    del stage
    ctx = Context(optimizers, axis_name)

    def train_step(state: GANState, batch: dict):
      keys = ctx.named_keys(jax.random.fold_in(state.key, state.step), ('dropout', 'loss'))
      source = to_model_range(batch['source'], VALUE_RANGE)
      target = to_model_range(batch['image'], VALUE_RANGE)

      def translate(params):
        return run_network(generator, params, state.collections['G'], source, update=True,
                           train=True, update_stats=True, rngs={'dropout': keys['dropout']})
      fake, pullback, g_collections = jax.vjp(translate, state.params['G'], has_aux=True)

      def judge(params, collections, images):
        return run_network(discriminator, params, collections, images, source, update=True,
                           train=True, update_stats=True)

      def discriminator_loss(params):
        fake_logits, collections = judge(params, state.collections['D'],
                                         jax.lax.stop_gradient(fake))
        real_logits, collections = judge(params, collections, target)
        d_loss = 0.5 * loss.discriminator(real_logits, fake_logits, keys['loss'])
        metrics = {'d/loss': d_loss, **losses.equilibrium(loss, real_logits, fake_logits)}
        return d_loss, (metrics, collections)

      state, (d_metrics, d_collections) = ctx.update(state, 'D', discriminator_loss)

      def generator_objective(fake):
        logits, collections = judge(state.params['D'], d_collections, fake)
        adversarial = loss.generator(logits, keys['loss'])
        l1 = l1_weight * jnp.mean(jnp.abs(fake - target))
        metrics = {'g/loss': adversarial + l1, 'g/adversarial': adversarial, 'g/l1': l1}
        return metrics['g/loss'], (metrics, collections)

      fake_grad, (g_metrics, d_collections) = jax.grad(generator_objective, has_aux=True)(fake)
      (g_grad,) = pullback(fake_grad)
      state = ctx.apply_gradients(state, {'G': g_grad})
      state = state.replace(collections={'G': g_collections, 'D': d_collections})
      return ctx.finish(state, {**d_metrics, **g_metrics})

    return train_step

  def generate(variables, inputs, stage=0, **options):
    del stage, options  # a translator has no sampling options
    return generator.apply(variables, inputs['source'], train=True,
                           rngs={'dropout': inputs['dropout']})

  def grid_inputs(key, batch):
    """The run's first batch's first `grid_count` pairs."""
    first = lambda name: to_model_range(jnp.asarray(batch[name][:grid_count]), VALUE_RANGE)
    return {'source': first('source'), 'image': first('image'),
            'dropout': jax.random.fold_in(key, DROPOUT_STREAM)}

  def show(inputs, samples):
    """Each pair as source, translation and target side by side."""
    return jnp.concatenate([inputs['source'], samples, inputs['image']], axis=2)

  return Game(init=init, make_step=make_step, generate=generate, grid_inputs=grid_inputs,
              inputs=None, sampler='G', value_range=VALUE_RANGE, optimizers=optimizers,
              show=show)
