"""The adversarial game's equilibrium, made visible: the Dirac-GAN (Mescheder, Geiger & Nowozin
2018, "Which training methods for GANs do actually converge?", section 2.2) trained by jaxgan's
own adversarial step, loss by loss.

  python benchmarks/dirac_gan.py [--steps 600] [--lr 0.1] [--gamma 1.0]
                                 [--out docs/dirac_gan.png] [--json FILE]

The real data is one point, x = 0; the generator is one parameter, G(z) = theta; the critic
one weight, D(x) = psi * x. The only equilibrium is (theta, psi) = (0, 0): the generator on the
data, the critic indifferent. Each game below is `jaxgan.games.adversarial.game` with these two
networks, plain gradient descent for both and a loss and regularizers of `jaxgan.losses` and
`jaxgan.regularizers` (what `--set loss=... --set r1_gamma=...` picks for an image model):

  non-saturating          the original GAN's loss alone: not locally convergent (its linearised
                          dynamics circle the equilibrium); it spirals in ever more slowly
  wasserstein             WGAN's loss (no Lipschitz constraint on a linear critic): circles at
                          the distance it starts from
  non-saturating + R1     Mescheder et al.'s fix: converges, linearly
  relativistic + R1 + R2  R3GAN's loss (Huang et al. 2024): converges, linearly

It draws each trajectory in the (theta, psi) plane and prints the distance to the equilibrium at
the end, against the distance at the start.
"""

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from jaxgan import losses, regularizers
from jaxgan.games import adversarial

START = (1.0, 1.0)  # (theta, psi)
GAMES = {  # name: (loss, R1's gamma factor, R2's)
    'non-saturating': ('non_saturating', 0.0, 0.0),
    'wasserstein': ('wasserstein', 0.0, 0.0),
    'non-saturating + R1': ('non_saturating', 1.0, 0.0),
    'relativistic + R1 + R2': ('relativistic', 1.0, 1.0),
}


class DiracGenerator(nn.Module):
  """G(z) = theta for every latent: a point mass at theta."""
  start: float

  @nn.compact
  def __call__(self, z):
    theta = self.param('theta', lambda key: jnp.asarray(self.start, jnp.float32))
    return jnp.broadcast_to(theta, (z.shape[0], 1))


class LinearCritic(nn.Module):
  """D(x) = psi * x."""
  start: float

  @nn.compact
  def __call__(self, x, train=True, update_stats=False):
    del train, update_stats
    psi = self.param('psi', lambda key: jnp.asarray(self.start, jnp.float32))
    return psi * x[:, 0]


def game(name: str, lr: float = 0.1, gamma: float = 1.0, start=START):
  """The Dirac-GAN as an adversarial game: `GAMES[name]`'s loss and penalties, scaled by
  `gamma`, SGD at `lr` on both sides."""
  loss, r1, r2 = GAMES[name]
  penalties = {'r1': regularizers.r1(r1 * gamma)} if r1 else {}
  if r2:
    penalties['r2'] = regularizers.r2(r2 * gamma)
  return adversarial.game(
      DiracGenerator(start[0]), LinearCritic(start[1]), losses.LOSSES[loss](),
      {'G': optax.sgd(lr), 'D': optax.sgd(lr)}, latent_dim=1, sample_shape=(1,),
      d_regularizer=regularizers.chain(**penalties) if penalties else None)


def trajectory(name: str, steps: int, lr: float = 0.1, gamma: float = 1.0,
               start=START) -> np.ndarray:
  """(theta, psi) before each of `steps` steps and after the last: an array (steps + 1, 2)."""
  played = game(name, lr, gamma, start)
  step = played.make_step()
  batch = {'image': jnp.zeros((played.batches_per_step, 1), jnp.float32)}  # x = 0, one per batch
  point = lambda state: jnp.stack([state.params['G']['theta'],
                                   state.params['D']['psi']])

  @jax.jit
  def run(state):
    def one(state, _):
      return step(state, batch)[0], point(state)
    state, points = jax.lax.scan(one, state, length=steps)
    return jnp.concatenate([points, point(state)[None]])
  return np.asarray(run(played.init(jax.random.key(0))))


def draw(paths: dict, path: Path) -> None:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  figure, axes = plt.subplots(1, len(paths), figsize=(3.2 * len(paths), 3.4), sharey=True)
  for axis, (name, points) in zip(axes, paths.items()):
    axis.plot(points[:, 0], points[:, 1], lw=1)
    axis.plot(*points[0], 'o', color='tab:green', label='start')
    axis.plot(0, 0, '*', color='tab:red', ms=12, label='equilibrium')
    axis.set_title(name, fontsize=10)
    axis.set_xlabel('theta (generator)')
    axis.set_aspect('equal')
    axis.set_xlim(-2, 2), axis.set_ylim(-2, 2)
  axes[0].set_ylabel('psi (critic)')
  axes[0].legend(loc='lower left', fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=110)
  plt.close(figure)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--steps', type=int, default=600)
  parser.add_argument('--lr', type=float, default=0.1)
  parser.add_argument('--gamma', type=float, default=1.0, help="R1's and R2's gamma")
  parser.add_argument('--out', type=Path, default=Path('docs/dirac_gan.png'))
  parser.add_argument('--json', type=Path, help='the distances, as JSON')
  args = parser.parse_args()
  paths = {name: trajectory(name, args.steps, args.lr, args.gamma) for name in GAMES}
  distances = {name: {'start': float(np.linalg.norm(points[0])),
                      'end': float(np.linalg.norm(points[-1])),
                      'closest_in_last_tenth': float(np.linalg.norm(
                          points[-(args.steps // 10):], axis=1).min())}
               for name, points in paths.items()}
  print(f'Dirac-GAN, {args.steps} steps of SGD at {args.lr}, gamma {args.gamma}: distance to '
        f'the equilibrium (0, 0)')
  print('| game | start | end | closest in the last tenth |\n| --- | --- | --- | --- |')
  for name, d in distances.items():
    print(f"| {name} | {d['start']:.3f} | {d['end']:.3g} | {d['closest_in_last_tenth']:.3g} |")
  draw(paths, args.out)
  print(f'wrote {args.out}')
  if args.json:
    args.json.write_text(json.dumps({'steps': args.steps, 'lr': args.lr, 'gamma': args.gamma,
                                     'distances': distances}, indent=2) + '\n')


if __name__ == '__main__':
  main()
