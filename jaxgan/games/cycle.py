"""The cycle game (CycleGAN, Zhu et al. 2017): two generators, two discriminators.

`G_ab` translates domain A (`batch['source']`) to domain B (`batch['image']`), `G_ba` back; `D_b`
judges domain B, `D_a` domain A. As junyanz/pytorch-CycleGAN-and-pix2pix's
`models/cycle_gan_model.py` (`optimize_parameters`) plays it, each step:

1. updates both generators together on
     adversarial(D_b(G_ab(a))) + adversarial(D_a(G_ba(b)))
     + cycle_weight * (|G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1)
     + identity_weight * cycle_weight * (|G_ab(b) - b|_1 + |G_ba(a) - a|_1);
2. updates both discriminators, each on half its loss on its domain's real images and on
   translations made in 1 (before the generators moved) passed through its history pool
   (`util/image_pool.py`: while the pool holds fewer than `pool_size` images, each translation
   joins it and is used; then with probability 1/2 a translation replaces a random pooled image,
   which is used in its place, else it is used as it is). Real and translated images go through
   the discriminator in two passes, as the reference's `backward_D_basic` runs them.

Defaults as the reference's: lambda_A = lambda_B = 10, lambda_identity 0.5, its LSGAN loss
(`losses.lsgan`: mean squared errors, the discriminators' halved here), a pool of 50. The pools
are pieces of the state (`pool_a`, `pool_b`: images and count), saved and resumed exactly; data-
parallel, one pool serves the global batch (every device queries it with the whole batch's
translations and the same draws, then keeps its rows), so the run is the same on any number of
devices.

Networks: `G(x)`; `D(x, train=True, update_stats=...)`, dropout from the 'dropout' stream.
Samples: `G_ab`'s translations of `inputs['source']`; the grids show each source beside its
translation.
"""

import jax
import jax.numpy as jnp

from jaxgan import losses
from jaxgan.games import Game
from jaxgan.state import GANState
from jaxgan.step import Context, run_network, to_model_range

GENERATORS = ('G_ab', 'G_ba')
DISCRIMINATORS = ('D_a', 'D_b')
POOL_STREAM = 1  # fold_in id of the pools' draws in the step's key


def empty_pool(size: int, sample_shape: tuple[int, ...]) -> dict:
  """A history pool of `size` images, none held yet."""
  return {'images': jnp.zeros((size, *sample_shape), jnp.float32),
          'count': jnp.zeros((), jnp.int32)}


def query_pool(pool: dict, images: jax.Array, key: jax.Array) -> tuple[jax.Array, dict]:
  """The reference's `ImagePool.query`, image after image: (the images to use, the pool)."""
  size = pool['images'].shape[0]

  def one(pool, inputs):
    image, key = inputs
    k_swap, k_index = jax.random.split(key)
    filling = pool['count'] < size
    swap = ~filling & (jax.random.uniform(k_swap) > 0.5)
    index = jnp.where(filling, pool['count'], jax.random.randint(k_index, (), 0, size))
    pooled = pool['images'][index]
    stored = jnp.where(filling | swap, image, pooled)
    pool = {'images': pool['images'].at[index].set(stored),
            'count': pool['count'] + filling.astype(jnp.int32)}
    return pool, jnp.where(swap, pooled, image)

  pool, used = jax.lax.scan(one, pool, (images, jax.random.split(key, images.shape[0])))
  return used, pool


def game(networks: dict, optimizers: dict, sample_shape: tuple[int, ...],
         loss: losses.GANLoss | None = None, value_range: tuple[float, float] = (-1.0, 1.0),
         cycle_weight: float = 10.0, identity_weight: float = 0.5, pool_size: int = 50,
         grid_count: int = 16) -> Game:
  """The cycle `Game` of `networks` (`{'G_ab', 'G_ba', 'D_a', 'D_b'}: Flax modules`), each
  trained by its optimizer in `optimizers`. `pool_size` 0: no pools (each discriminator sees
  the step's translations)."""
  loss = loss or losses.lsgan()

  def init(key):
    keys = dict(zip((*GENERATORS, *DISCRIMINATORS, 'train'),
                    jax.random.split(jax.random.fold_in(key, 0), 5)))
    example = jnp.zeros((1, *sample_shape))
    variables = {name: jax.jit(networks[name].init)(keys[name], example) for name in GENERATORS}
    variables.update({name: jax.jit(networks[name].init, static_argnames='train')(
        keys[name], example, train=False) for name in DISCRIMINATORS})
    pieces = {f'pool_{domain}': empty_pool(pool_size, sample_shape)
              for domain in ('a', 'b')} if pool_size else {}
    return GANState.create(keys['train'], variables, optimizers, pieces=pieces)

  def make_step(axis_name: str | None = None, stage: int = 0):
    del stage
    ctx = Context(optimizers, axis_name)

    def translate(state, name, params, images):
      return run_network(networks[name], params, state.collections[name], images)[0]

    def judge(state, name, params, images, key, collections=None, update=False):
      return run_network(networks[name], params,
                         state.collections[name] if collections is None else collections,
                         images, update=update, train=True, update_stats=update,
                         rngs={'dropout': key})

    def l1(a, b):
      return jnp.mean(jnp.abs(a - b))

    def train_step(state: GANState, batch: dict):
      step_key = jax.random.fold_in(state.key, state.step)
      keys = ctx.named_keys(step_key, ('drop_a', 'drop_b', 'loss'))
      real_a = to_model_range(batch['source'], value_range)
      real_b = to_model_range(batch['image'], value_range)

      def generator_loss(params):
        fake_b = translate(state, 'G_ab', params['G_ab'], real_a)
        fake_a = translate(state, 'G_ba', params['G_ba'], real_b)
        adversarial = (
            loss.generator(judge(state, 'D_b', state.params['D_b'], fake_b, keys['drop_b'])[0],
                           keys['loss'])
            + loss.generator(judge(state, 'D_a', state.params['D_a'], fake_a, keys['drop_a'])[0],
                             keys['loss']))
        cycle = cycle_weight * (l1(translate(state, 'G_ba', params['G_ba'], fake_b), real_a)
                                + l1(translate(state, 'G_ab', params['G_ab'], fake_a), real_b))
        identity = identity_weight * cycle_weight * (
            l1(translate(state, 'G_ab', params['G_ab'], real_b), real_b)
            + l1(translate(state, 'G_ba', params['G_ba'], real_a), real_a))
        total = adversarial + cycle + identity
        metrics = {'g/loss': total, 'g/adversarial': adversarial, 'g/cycle': cycle,
                   'g/identity': identity}
        return total, (metrics, {'a': fake_a, 'b': fake_b})

      state, (g_metrics, fakes) = ctx.update(state, GENERATORS, generator_loss)
      fakes = jax.lax.stop_gradient(fakes)
      pieces = dict(state.pieces)
      if pool_size:  # one pool for the global batch, the same draws on every device
        pool_key = jax.random.fold_in(step_key, POOL_STREAM)
        for i, domain in enumerate(('a', 'b')):
          n = fakes[domain].shape[0]
          used, pieces[f'pool_{domain}'] = query_pool(
              state.pieces[f'pool_{domain}'], ctx.all_rows(fakes[domain]),
              jax.random.fold_in(pool_key, i))
          fakes[domain] = ctx.own_rows(used, n)
      reals = {'a': real_a, 'b': real_b}

      def discriminator_loss(params):
        metrics, collections = {}, {}
        for domain in ('a', 'b'):
          name, key = f'D_{domain}', keys[f'drop_{domain}']
          real_logits, collections[name] = judge(state, name, params[name], reals[domain], key,
                                                 update=True)
          fake_logits, collections[name] = judge(state, name, params[name], fakes[domain], key,
                                                 collections[name], update=True)
          metrics[f'd_{domain}/loss'] = 0.5 * loss.discriminator(real_logits, fake_logits,
                                                                 keys['loss'])
          metrics.update(losses.equilibrium(loss, real_logits, fake_logits, f'd_{domain}'))
        metrics = {'d/loss': metrics['d_a/loss'] + metrics['d_b/loss'], **metrics}
        return metrics['d/loss'], (metrics, collections)

      state, (d_metrics, collections) = ctx.update(state, DISCRIMINATORS, discriminator_loss)
      state = state.replace(collections={**state.collections, **collections}, pieces=pieces)
      return ctx.finish(state, {**d_metrics, **g_metrics})

    return train_step

  def generate(variables, inputs, stage=0, **options):
    del stage, options  # a translator has no sampling options
    return networks['G_ab'].apply(variables, inputs['source'])

  def grid_inputs(key, batch):
    del key
    return {'source': to_model_range(jnp.asarray(batch['source'][:grid_count]), value_range)}

  def show(inputs, samples):
    """Each source beside its translation."""
    return jnp.concatenate([inputs['source'], samples], axis=2)

  return Game(init=init, make_step=make_step, generate=generate, grid_inputs=grid_inputs,
              inputs=None, sampler='G_ab', value_range=value_range, optimizers=optimizers,
              show=show)
