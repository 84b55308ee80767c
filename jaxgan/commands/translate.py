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

from jaxgan import data
from jaxgan.commands.common import (OneLineErrorParser, command_name, load_family_plugins,
                                    non_negative_int, random_seed)
from jaxgan.files import OutputCollision, check_outputs
from jaxgan.images import save_image
from jaxgan.sample import SampleError
from jaxgan.translate import inputs_of, output_path, translate


def main(argv=None) -> int:
  load_family_plugins(command_name('python -m jaxgan.translate'))
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
    root, files = inputs_of(Path(args.input))
    targets = {path: output_path(out, path.relative_to(root), args.keep_suffix) for path in files}
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
