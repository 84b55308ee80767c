"""The cycle game (CycleGAN, Zhu et al. 2017): two generators, two discriminators.

`G_ab` translates domain A (`batch['source']`) to domain B (`batch['image']`), `G_ba` back; `D_b`
judges domain B, `D_a` domain A. As pytorch-CycleGAN-and-pix2pix's
`models/cycle_gan_model.py` (`optimize_parameters`) plays it, each step:

1. updates both generators together on
     adversarial(D_b(G_ab(a))) + adversarial(D_a(G_ba(b)))
     + cycle_weight * (|G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1)
     + identity_weight * cycle_weight * (|G_ab(b) - b|_1 + |G_ba(a) - a|_1);
2. updates both discriminators on the real images and the translations made in 1 (before the
   generators moved), each with the loss's discriminator term.
Defaults as the reference's (lambda_A = lambda_B = 10, lambda_identity 0.5, LSGAN). The
reference's LSGAN generator term is the squared error itself; `losses.least_squares` halves it.
The reference's pool of 50 past translations is not kept here yet.

Networks: `G(x)`; `D(x, train=True, update_stats=...)`, dropout from the 'dropout' stream.
"""

import jax
import jax.numpy as jnp

from jaxgan import losses
from jaxgan.games import Game
from jaxgan.state import GANState
from jaxgan.step import Context, run_network, to_model_range

GENERATORS = ('G_ab', 'G_ba')
DISCRIMINATORS = ('D_a', 'D_b')


def game(networks: dict, optimizers: dict, sample_shape: tuple[int, ...],
         loss: losses.GANLoss | None = None, value_range: tuple[float, float] = (-1.0, 1.0),
         cycle_weight: float = 10.0, identity_weight: float = 0.5,
         grid_count: int = 16) -> Game:
  """The cycle `Game` of `networks` (`{'G_ab', 'G_ba', 'D_a', 'D_b'}: Flax modules`), each
  trained by its optimizer in `optimizers`. Samples and grids: `G_ab`'s translations of
  domain A images."""
  loss = loss or losses.least_squares()

  def init(key):
    keys = dict(zip((*GENERATORS, *DISCRIMINATORS, 'train'),
                    jax.random.split(jax.random.fold_in(key, 0), 5)))
    example = jnp.zeros((1, *sample_shape))
    variables = {name: jax.jit(networks[name].init)(keys[name], example) for name in GENERATORS}
    variables.update({name: jax.jit(networks[name].init, static_argnames='train')(
        keys[name], example, train=False) for name in DISCRIMINATORS})
    return GANState.create(keys['train'], variables, optimizers)

  def make_step(axis_name: str | None = None, stage: int = 0):
    del stage
    ctx = Context(optimizers, axis_name)

    def translate(state, name, params, images):
      return run_network(networks[name], params, state.collections[name], images)[0]

    def judge(state, name, params, images, key, update=False):
      return run_network(networks[name], params, state.collections[name], images, update=update,
                         train=True, update_stats=update, rngs={'dropout': key})

    def l1(a, b):
      return jnp.mean(jnp.abs(a - b))

    def train_step(state: GANState, batch: dict):
      keys = ctx.named_keys(jax.random.fold_in(state.key, state.step),
                            ('drop_a', 'drop_b', 'loss'))
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
      reals = {'a': real_a, 'b': real_b}

      def discriminator_loss(params):
        metrics, collections = {}, {}
        for domain in ('a', 'b'):
          name = f'D_{domain}'
          n = reals[domain].shape[0]
          logits, collections[name] = judge(
              state, name, params[name], jnp.concatenate([fakes[domain], reals[domain]]),
              keys[f'drop_{domain}'], update=True)
          metrics[f'd_{domain}/loss'] = loss.discriminator(logits[n:], logits[:n], keys['loss'])
        metrics = {'d/loss': metrics['d_a/loss'] + metrics['d_b/loss'], **metrics}
        return metrics['d/loss'], (metrics, collections)

      state, (d_metrics, collections) = ctx.update(state, DISCRIMINATORS, discriminator_loss)
      state = state.replace(collections={**state.collections, **collections})
      return ctx.finish(state, {**d_metrics, **g_metrics})

    return train_step

  def generate(variables, inputs, stage=0, **options):
    del stage, options  # a translator has no sampling options
    return networks['G_ab'].apply(variables, inputs['source'])

  def grid_inputs(key, batch):
    del key
    return {'source': to_model_range(jnp.asarray(batch['source'][:grid_count]), value_range)}

  return Game(init=init, make_step=make_step, generate=generate, grid_inputs=grid_inputs,
              inputs=None, sampler='G_ab', value_range=value_range, optimizers=optimizers)
