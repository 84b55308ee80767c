"""Applies a trained translation model (pix2pix, CycleGAN) to images: a PNG per input image.

  python -m jaxgan.translate --workdir DIR --input FILE|FOLDER --out FOLDER
                             [--direction AtoB|BtoA] [--aligned] [--step K] [--seed S]

Each input image is center-cropped to a square, resized to the run's image size and converted
to its channels, as training read its images, then translated alone (a batch of one, in
training mode, as the reference's test.py runs pix2pix: each image normalized by its own
statistics, the dropout drawn from --seed), and written under --out with its path relative to
--input and the suffix .png (`--keep-suffix`: added to the input's name, a.jpg -> a.jpg.png).
Nothing is written over an input, or over another input's output: inputs that would be (--out
inside --input, or a.jpg beside a.png) are named before anything is written, and each PNG is
written whole or not at all. `--aligned` reads inputs in pix2pix's aligned layout (A and B side
by side) and translates their source side. A CycleGAN run translates either way (`--direction
BtoA`: its generator G_ba); a pix2pix run only its own direction. (CycleGAN's generators have
no batch statistics or dropout: each image's translation is the same alone or in a batch.)
"""

import sys
from pathlib import Path

import jax
import numpy as np
from PIL import Image

from jaxgan import data, games
from jaxgan.checkpoint import Checkpoints
from jaxgan.cli import OneLineErrorParser, non_negative_int, random_seed
from jaxgan.files import OutputCollision, check_outputs
from jaxgan.images import save_image, to_uint8
from jaxgan.sample import Generator, SampleError
from jaxgan.step import to_model_range


def _inputs(path: Path) -> tuple[Path, list[Path]]:
  """(the folder outputs are named relative to, the image files)."""
  if path.is_file():
    return path.parent, [path]
  if not path.is_dir():
    raise FileNotFoundError(f'--input {str(path)!r} does not exist')
  return path, data._image_files(path)


def translate(workdir: str | Path, inputs: list[Path], step: int | None = None, seed: int = 0,
              direction: str | None = None, aligned: bool = False, report=print):
  """Yields (input path, translated uint8 image) for each readable input; unreadable files are
  reported once, at the end."""
  generator = Generator(workdir, step)
  config = generator.config
  if generator.game.inputs is not None:
    raise SampleError(f'{str(workdir)!r} holds a {config.arch} run, which draws images from '
                      f'latents: use python -m jaxgan.sample')
  variables, source_side = generator.variables, config.direction
  if config.arch == 'cyclegan':  # either way: G_ab, or G_ba from the whole state
    source_side = direction or 'AtoB'
    if source_side == 'BtoA':
      variables = _network_variables(workdir, generator, 'G_ba')
  elif direction is not None and direction != config.direction:
    raise SampleError(f'this run translates {config.direction} only, not {direction}')
  size, channels = config.image_size, config.channels
  apply = jax.jit(generator.game.generate)  # G_ab's architecture is G_ba's
  skipped = []
  for index, path in enumerate(inputs):
    if aligned:
      pair = data._read_aligned(path, size, channels)
      image = None if pair is None else pair[0 if source_side == 'AtoB' else 1]
    else:
      image = data._read(path, size, channels)
    if image is None:
      skipped.append(path.name)
      continue
    source = to_model_range(image[None], generator.game.value_range)
    out = apply(variables, {'source': source,
                                      'dropout': jax.random.fold_in(jax.random.key(seed), index)})
    yield path, to_uint8(np.asarray(out), generator.game.value_range)[0]
  if skipped:
    report(f'skipped {len(skipped)} files that could not be read as images: '
           f'{", ".join(skipped[:3])}{", ..." if len(skipped) > 3 else ""}')


def _network_variables(workdir, generator: Generator, name: str) -> dict:
  """Network `name`'s variables from the checkpoint's whole state."""
  with Checkpoints(Path(workdir) / 'checkpoints', create=False) as checkpoints:
    abstract = games.abstract_state(generator.game, jax.random.key(generator.config.seed),
                                    generator.step)
    return checkpoints.restore_state(generator.step, abstract).variables(name)


def main(argv=None) -> int:
  parser = OneLineErrorParser(prog='python -m jaxgan.translate',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--workdir', required=True, metavar='DIR', help="a translation run's")
  parser.add_argument('--input', required=True, metavar='FILE|FOLDER',
                      help='an image, or a folder of images (searched recursively)')
  parser.add_argument('--out', required=True, metavar='FOLDER')
  parser.add_argument('--direction', choices=('AtoB', 'BtoA'),
                      help="pix2pix: the run's own (default); CycleGAN: either (default AtoB)")
  parser.add_argument('--aligned', action='store_true',
                      help="inputs hold A and B side by side (pix2pix's aligned layout): "
                           "translate the source side")
  parser.add_argument('--keep-suffix', action='store_true',
                      help="name each output after the input's whole name (a.jpg -> a.jpg.png), "
                           "for inputs whose names differ only by their suffix")
  parser.add_argument('--step', type=non_negative_int, metavar='K',
                      help='checkpoint step (default: latest)')
  parser.add_argument('--seed', type=random_seed, default=0, metavar='S', help='the dropout draws')
  args = parser.parse_args(argv)
  out = Path(args.out)
  written = 0
  try:
    root, files = _inputs(Path(args.input))
    targets = {path: _output(out, path.relative_to(root), args.keep_suffix) for path in files}
    check_outputs(((target, f'the input {str(path)!r}') for path, target in targets.items()),
                  inputs=files)
    for path, image in translate(args.workdir, files, args.step, args.seed, args.direction,
                                 args.aligned, report=lambda line: print(line, file=sys.stderr)):
      targets[path].parent.mkdir(parents=True, exist_ok=True)
      save_image(image, targets[path])
      written += 1
  except OutputCollision as error:
    parser.error(f'{error}; nothing was written (use another --out'
                 f'{"" if args.keep_suffix else ", or --keep-suffix"})')
  except (FileNotFoundError, SampleError, data.DatasetError) as error:
    parser.error(str(error))
  except OSError as error:
    parser.error(f'cannot write to {str(out)!r}: {error.strerror or error}')
  except KeyboardInterrupt:
    print(f'{parser.prog}: interrupted after writing {written} images to {out}; none was left '
          f'half-written', file=sys.stderr)
    return 130
  print(f'wrote {written} images to {out}')
  return 0


def _output(out: Path, relative: Path, keep_suffix: bool) -> Path:
  """Where the translation of the input at `relative` (to --input) goes."""
  target = out / relative
  return target.with_name(target.name + '.png') if keep_suffix else target.with_suffix('.png')


if __name__ == '__main__':
  sys.exit(main())
