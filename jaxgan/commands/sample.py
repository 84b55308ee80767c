"""Samples from a run's checkpoint: loads only the generator (the EMA when the run kept one).

  python -m jaxgan.sample --workdir DIR --num N --out FILE.png|FILE.npy|FOLDER/ [--seed S]
                          [--step K] [--class C] [--latents FILE.npy]
                          [--truncation PSI] [--noise random|const|none]
  python -m jaxgan.sample --workdir DIR --rows SEEDS --cols SEEDS [--styles 0-6] --out grid.png
  python -m jaxgan.sample --workdir DIR --interpolate K [--frames F] --out walk.gif|.mp4|.png|.npy

A .png is a grid of the images (a scatter plot for 2-D samples); a .npy holds them as float32
(n, h, w, c) in [0, 1] (or the points, (n, 2)). The same --seed gives the same samples. A
class-conditional run draws class C (its index or its name) with --class, else every class in
turn. An --out ending in / writes a dataset of PNGs: N images per class of a conditional run, one
subfolder per class (what `train.py --dataset FOLDER` reads back as labelled data), or N images.
`--latents` takes the latents from a file (n, latent_dim) instead of drawing them. A StyleGAN2
generator also takes `--truncation PSI` (w pulled toward its tracked average, psi 1: none) and
`--noise` (random per image, the layers' constant buffers, or none), as the reference's
generate.py offers them, and draws the reference's style-mixing grid (`--rows`, `--cols`).
`--interpolate K` walks through K latents and back to the first, F frames between each two
(spherically between Gaussian latents; linearly in W for StyleGAN2, its noise constant unless
--noise says otherwise).
"""

import math
import sys
from pathlib import Path

import numpy as np

from jaxgan.commands.common import (OneLineErrorParser, add_compile_cache_flag, command_name,
                                    finite_float, load_family_plugins, non_negative_int,
                                    positive_int, random_seed, use_compile_cache)
from jaxgan.files import OutputCollision, check_outputs, read_npy, written
from jaxgan.images import save_grid, save_image, save_scatter, to_uint8
from jaxgan.sample import (SampleError, generate, interpolation, style_mixing_grid, write_dataset,
                           write_frames)


def main(argv=None) -> int:
  load_family_plugins(command_name('python -m jaxgan.sample'))
  parser = OneLineErrorParser(prog='python -m jaxgan.sample',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', required=True, metavar='DIR')
  parser.add_argument('--num', type=positive_int, default=64, metavar='N')
  parser.add_argument('--out', required=True, metavar='FILE',
                      help='.png (grid), .npy, or FOLDER/ (a dataset of PNGs, by class)')
  parser.add_argument('--seed', type=random_seed, default=0, metavar='S')
  parser.add_argument('--step', type=non_negative_int, metavar='K',
                      help='checkpoint step (default: latest)')
  parser.add_argument('--class', dest='class_', metavar='C',
                      help='a conditional run: the class to draw, by index or name (default: '
                           'every class in turn)')
  parser.add_argument('--latents', metavar='FILE.npy',
                      help='the latents to generate from, (n, latent_dim) (n replaces --num)')
  parser.add_argument('--truncation', type=finite_float, metavar='PSI',
                      help="StyleGAN2: truncation toward the average w (default: 1, none)")
  parser.add_argument('--noise', choices=('random', 'const', 'none'),
                      help="StyleGAN2's noise inputs (default: random)")
  parser.add_argument('--rows', metavar='SEEDS', help="StyleGAN2's style-mixing grid: the row "
                      "seeds (with --cols; the reference's style_mixing.py)")
  parser.add_argument('--cols', metavar='SEEDS', help='the column seeds, whose styles mix in')
  parser.add_argument('--styles', default='0-6', metavar='RANGE',
                      help='the layers taken from the column seeds (default: %(default)s)')
  parser.add_argument('--interpolate', type=positive_int, metavar='K',
                      help='a walk through K latents and back (spherical; in W for StyleGAN2) '
                           'as .gif, .mp4, .png (a row per step) or .npy')
  parser.add_argument('--frames', type=positive_int, default=16, metavar='F',
                      help='with --interpolate: frames from each latent to the next '
                           '(default: %(default)s)')
  add_compile_cache_flag(parser)
  args = parser.parse_args(argv)
  if problem := use_compile_cache(args.compile_cache):
    parser.error(problem)
  try:
    check_outputs([(Path(args.out), '--out')],
                  inputs=[Path(args.latents)] if args.latents else [])
  except OutputCollision as error:
    parser.error(f'{error}; choose another --out')
  try:
    return _sample(parser, args)
  except KeyboardInterrupt:
    print(f'{parser.prog}: interrupted; no file was left half-written', file=sys.stderr)
    return 130


def _sample(parser, args) -> int:
  if args.rows or args.cols:
    return _style_mixing(parser, args)
  if args.interpolate:
    return _interpolation(parser, args)
  out = Path(args.out)
  options = {name: value for name, value in (('truncation_psi', args.truncation),
                                             ('noise_mode', args.noise)) if value is not None}
  latents = _read_latents(parser, args.latents)
  if latents is not None:
    args.num = len(latents)
  if args.out.endswith(('/', '\\')) or out.is_dir():
    if args.class_ is not None:
      parser.error('--class with a FOLDER/ --out: the dataset holds every class')
    if options or latents is not None:
      parser.error('--latents, --truncation and --noise go with a .png or .npy --out')
    try:
      count = write_dataset(args.workdir, args.num, out, args.seed, args.step)
    except (FileNotFoundError, SampleError) as error:
      parser.error(str(error))
    except OSError as error:
      parser.error(f'cannot write {str(out)!r}: {error.strerror or error}')
    print(f"wrote {count} images to {out}")
    return 0
  if out.suffix not in ('.png', '.npy'):
    parser.error(f'--out must end in .png, .npy or /, got {str(out)!r}')
  try:
    images = generate(args.workdir, args.num, args.seed, args.step, args.class_,
                      latents=latents, **options)
  except (FileNotFoundError, SampleError) as error:
    parser.error(str(error))
  try:
    if out.suffix == '.npy':
      with written(out) as temporary:
        np.save(temporary, images.astype(np.float32))
    elif images.ndim == 2:
      save_scatter(images, out)
    else:
      save_grid(to_uint8(images, (0.0, 1.0)), out, columns=math.ceil(math.sqrt(args.num)))
  except OSError as error:
    parser.error(f'cannot write {str(out)!r}: {error.strerror or error}')
  return 0


def _interpolation(parser, args) -> int:
  out = Path(args.out)
  if out.suffix not in ('.gif', '.mp4', '.png', '.npy'):
    parser.error(f'--interpolate writes a .gif, .mp4, .png or .npy --out, got {str(out)!r}')
  latents = _read_latents(parser, args.latents)
  if latents is not None and len(latents) != args.interpolate:
    parser.error(f'--latents holds {len(latents)} latents; --interpolate {args.interpolate} '
                 f'walks through that many')
  options = {name: value for name, value in (('truncation_psi', args.truncation),
                                             ('noise_mode', args.noise)) if value is not None}
  try:
    frames = interpolation(args.workdir, args.interpolate, args.frames, args.seed, args.step,
                           args.class_, latents, **options)
    write_frames(frames, out, columns=args.frames)
  except (FileNotFoundError, SampleError) as error:
    parser.error(str(error))
  except OSError as error:
    parser.error(f'cannot write {str(out)!r}: {error.strerror or error}')
  print(f'wrote {len(frames)} frames to {out}')
  return 0


def _read_latents(parser, path: str | None) -> np.ndarray | None:
  """The (n, latent_dim) array of an .npy --latents file, or None without one."""
  if not path:
    return None
  try:
    latents = read_npy(path)
  except (OSError, ValueError) as error:
    parser.error(f'cannot read --latents: {error}')
  if latents.ndim != 2:
    parser.error(f'--latents holds an array of shape {latents.shape}, not (n, latent_dim)')
  return latents


def _style_mixing(parser, args) -> int:
  def seeds(text, flag):
    try:
      return [int(seed) for seed in text.split(',')]
    except (AttributeError, ValueError):
      parser.error(f'{flag} wants comma-separated seeds, got {text!r}')
  rows, columns = seeds(args.rows, '--rows'), seeds(args.cols, '--cols')
  low, _, high = args.styles.partition('-')
  try:
    styles = list(range(int(low), int(high or low) + 1))
  except ValueError:
    parser.error(f'--styles wants a layer or a range like 0-6, got {args.styles!r}')
  if not args.out.endswith('.png'):
    parser.error('a style-mixing grid is written as a .png --out')
  try:
    grid = style_mixing_grid(args.workdir, rows, columns, styles,
                             1.0 if args.truncation is None else args.truncation,
                             args.noise or 'const', args.step)
    save_image(grid, Path(args.out))
  except (FileNotFoundError, SampleError) as error:
    parser.error(str(error))
  except OSError as error:
    parser.error(f'cannot write {args.out!r}: {error.strerror or error}')
  return 0
