"""Samples from a run's checkpoint: loads only the generator (the EMA when the run kept one).

  python -m jaxgan.sample --workdir DIR --num N --out FILE.png|FILE.npy [--seed S] [--step K]

A .png is a grid of the images (a scatter plot for 2-D samples); a .npy holds them as float32
(n, h, w, c) in [0, 1] (or the points, (n, 2)). The same --seed gives the same samples.
"""

import math
import sys
from pathlib import Path

import jax
import numpy as np

from jaxgan import nets
from jaxgan.checkpoint import Checkpoints
from jaxgan.cli import OneLineErrorParser, positive_int
from jaxgan.config import Config
from jaxgan.images import save_grid, save_scatter, to_uint8
from jaxgan.train import VALUE_RANGE


def generate(workdir: str | Path, num: int, seed: int = 0, step: int | None = None) -> np.ndarray:
  """`num` images from the generator saved in `workdir` (latest checkpoint unless `step`)."""
  directory = Path(workdir) / 'checkpoints'
  if not directory.is_dir():
    raise FileNotFoundError(f'no checkpoints in {str(workdir)!r}')
  with Checkpoints(directory, create=False) as checkpoints:
    step = checkpoints.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'no complete checkpoint in {str(directory)!r}')
    config = Config.from_dict(checkpoints.config(step))
    generator, _ = nets.build(config)
    latents = jax.random.normal(jax.random.key(seed), (num, config.latent_dim))
    abstract = jax.eval_shape(generator.init, jax.random.key(0), latents[:1])
    params = checkpoints.restore_generator(step, abstract)
  return np.asarray(jax.jit(generator.apply)(params, latents))


def main(argv=None) -> int:
  parser = OneLineErrorParser(prog='python -m jaxgan.sample',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', required=True, metavar='DIR')
  parser.add_argument('--num', type=positive_int, default=64, metavar='N')
  parser.add_argument('--out', required=True, metavar='FILE', help='.png (grid) or .npy')
  parser.add_argument('--seed', type=int, default=0, metavar='S')
  parser.add_argument('--step', type=int, metavar='K', help='checkpoint step (default: latest)')
  args = parser.parse_args(argv)
  out = Path(args.out)
  if out.suffix not in ('.png', '.npy'):
    parser.error(f'--out must end in .png or .npy, got {str(out)!r}')
  try:
    images = generate(args.workdir, args.num, args.seed, args.step)
  except FileNotFoundError as error:
    parser.error(str(error))
  try:
    if out.suffix == '.npy':
      np.save(out, images.astype(np.float32))
    elif images.ndim == 2:
      save_scatter(images, out)
    else:
      save_grid(to_uint8(images, VALUE_RANGE), out, columns=math.ceil(math.sqrt(args.num)))
  except OSError as error:
    parser.error(f'cannot write {str(out)!r}: {error.strerror or error}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
