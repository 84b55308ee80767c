"""A trained translation model (pix2pix, CycleGAN) applied to image files.

Each image is center-cropped to a square, resized to the run's image size and converted to its
channels, as training read its images, then translated alone (a batch of one, in training mode,
as the reference's test.py runs pix2pix: each image normalized by its own statistics, the
dropout drawn from a seed). A CycleGAN run translates either way (BtoA: its generator G_ba); a
pix2pix run only its own direction. (CycleGAN's generators have no batch statistics or dropout:
each image's translation is the same alone or in a batch.) The command is
`python -m jaxgan.translate` (`jaxgan.commands.translate`).
"""

from pathlib import Path

import jax
import numpy as np

from jaxgan import data, games
from jaxgan.checkpoint import Checkpoints
from jaxgan.images import to_uint8
from jaxgan.sample import Generator, SampleError
from jaxgan.step import to_model_range


def inputs_of(path: Path) -> tuple[Path, list[Path]]:
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
  variables = generator.variables
  if 'G_ba' in generator.game.optimizers:  # a generator each way (CycleGAN): G_ab, or G_ba
    source_side = direction or 'AtoB'
    if source_side == 'BtoA':
      variables = _network_variables(workdir, generator, 'G_ba')
  else:
    source_side = getattr(config, 'direction', 'AtoB')
    if direction not in (None, source_side):
      raise SampleError(f'this run translates {source_side} only, not {direction}')
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


def output_path(out: Path, relative: Path, keep_suffix: bool) -> Path:
  """Where the translation of the input at `relative` (to --input) goes."""
  target = out / relative
  return target.with_name(target.name + '.png') if keep_suffix else target.with_suffix('.png')
