"""Progressive growing (Karras et al. 2018): the adversarial game played stage by stage, each
stage at twice the resolution of the last, its new layers faded in.

The schedule is tkarras/progressive_growing_of_gans' (`train.py`, `TrainingSchedule`, its
level of detail `lod` computed from the images shown before each step), counted in steps of
`stable_steps` (T) and `fade_steps` (F): the reference's step t trains at lod(t * batch), which
stays at 4x4 for steps 0..T, then fades in 8x8 with alpha = 1 - frac(lod) = k / F on steps T + k,
k = 1..F (the last one at alpha 1), trains at 8x8 until step 2T + F, and so on. So stage s >= 1
begins at step s * T + (s - 1) * F + 1 (s * T when F = 0: no fade), the last stage lasting
until the run ends. Around the adversarial game (`jaxgan.games.adversarial`) this game adds what
the reference adds around its losses:

- **alpha**, `min((step - start + 1) / F, 1)`, written into both networks' variables ('progress'
  collection, `jaxgan.nets.pggan`) at the start of every step: a traced value in the state, so a
  stage compiles once, and the EMA generator sampled after step N uses that step's alpha;
- **the real images faded** as the generator's are (`process_reals`): blended toward their
  2x box-filtered copy by 1 - alpha, at the stage's resolution, which the loader serves
  (`Game.image_size`: the dataset's images box-filtered down, as its dataset_tool.py writes
  them);
- **the optimizers' state reset** (Adam's moments and step count) where the reference resets it
  (`reset_opt_for_new_lod`: where the floor or the ceiling of lod changes): on a fade's first
  step and on its last (where alpha reaches 1);
- **samples at the final size**: the generator's image upscaled (nearest neighbour), as the
  reference's networks always output the full resolution.

The reference re-reads its schedule every 4 minibatches (`minibatch_repeats`); here alpha moves
every step. Its minibatch size per resolution is one batch size here.
"""

import jax
import jax.numpy as jnp

from jaxgan.games import Game, adversarial
from jaxgan.nets import pggan
from jaxgan.step import to_model_range


def stage_starts(num_stages: int, stable_steps: int, fade_steps: int) -> tuple[int, ...]:
  """The steps at which stages 1, 2, ... begin (their fade's first step)."""
  return tuple(s * stable_steps + (s - 1) * fade_steps + (fade_steps > 0)
               for s in range(1, num_stages))


def game(generator, discriminator, *, resolution: int, stable_steps: int, fade_steps: int,
         reset_optimizers: bool = True, sample_key: str = 'image', **adversarial_options) -> Game:
  """The progressive `Game` of `jaxgan.nets.pggan` networks (`stage` attributes) growing from 4x4
  to `resolution`. `adversarial_options`: `jaxgan.games.adversarial.game`'s (loss, optimizers,
  latent_dim, sample_shape, ema_decay, d_regularizer, ...)."""
  num_stages = pggan.stages_for(resolution)
  starts = stage_starts(num_stages, stable_steps, fade_steps)
  base = adversarial.game(generator, discriminator, sample_key=sample_key, stages=starts,
                          **adversarial_options)
  optimizers = base.optimizers
  resets = tuple(sorted({*starts, *(start + max(fade_steps - 1, 0) for start in starts)}))

  def alpha_at(step, stage):
    if stage == 0 or fade_steps == 0:
      return jnp.ones((), jnp.float32)
    done = (step - starts[stage - 1] + 1).astype(jnp.float32) / fade_steps
    return jnp.clip(done, 0.0, 1.0)

  def with_alpha(state, alpha):
    collections = {name: {**variables, 'progress': {'alpha': alpha}}
                   for name, variables in state.collections.items()}
    return state.replace(collections=collections)

  def with_fresh_optimizers(state):
    """The optimizers' state as `init` makes it, on the steps the reference resets it."""
    reset = jnp.isin(state.step, jnp.asarray(resets, jnp.int32)) if resets else False
    opt_state = {name: jax.tree.map(lambda fresh, old: jnp.where(reset, fresh, old),
                                    optimizers[name].init(state.params[name]), old_state)
                 for name, old_state in state.opt_state.items()}
    return state.replace(opt_state=opt_state)

  def make_step(axis_name: str | None = None, stage: int = 0):
    play = base.make_step(axis_name=axis_name, stage=stage)

    def train_step(state, batch):
      alpha = alpha_at(state.step, stage)
      state = with_alpha(state, alpha)
      if reset_optimizers:
        state = with_fresh_optimizers(state)
      reals = to_model_range(batch[sample_key], base.value_range)
      batch = {**batch, sample_key: pggan.fade_reals(reals, alpha) if stage else reals}
      state, metrics = play(state, batch)
      return state, {**metrics, 'progress/alpha': alpha}

    return train_step

  def generate(variables, inputs, stage=0, **options):
    images = base.generate(variables, inputs, stage=stage, **options)
    return pggan.upscale2d(images, resolution // images.shape[1])

  return base._replace(make_step=make_step, generate=generate,
                       image_size=lambda stage: pggan.stage_resolution(stage))
