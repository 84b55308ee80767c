"""Reading and writing users' files so that nothing they have is lost.

Every file a tool writes is written whole under a temporary name beside its place and then
moved there (`os.replace`, atomic on one filesystem): an interrupted tool leaves the old file or
none, never a broken one. A tool's outputs are checked against its inputs and against each other
(`check_outputs`) before anything is written.
"""

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np


class OutputCollision(ValueError):
  """An output would overwrite an input, or another output; the message names both."""


@contextlib.contextmanager
def written(path: str | Path) -> Iterator[Path]:
  """Yields a temporary path beside `path`, with its suffix (writers that choose the format by
  the suffix keep it), for the caller to write; on success it replaces `path`, on any failure
  or interruption it is removed. The folder must exist."""
  path = Path(path)
  temporary = path.with_name(f'.{path.stem}.{os.getpid()}.partial{path.suffix}')
  try:
    yield temporary
    os.replace(temporary, path)
  finally:
    temporary.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
  """`path.write_text(text)`, whole or not at all."""
  with written(path) as temporary:
    temporary.write_text(text)


def _identity(path: Path):
  """What two names of one file share: the device and inode of an existing file (hard links,
  symbolic links and other spellings alike), else the absolute path with links resolved."""
  resolved = path.resolve()
  try:
    stat = resolved.stat()
    return stat.st_dev, stat.st_ino
  except OSError:
    return str(resolved)


def check_outputs(outputs: Iterable[tuple[Path, str]], inputs: Iterable[Path] = ()) -> None:
  """Raises `OutputCollision` when an output path is one of `inputs` (the same file, however it
  is named) or the output of another: `outputs` are `(path, what it is the output of)`."""
  taken = {_identity(Path(path)): f'the input {str(path)!r}' for path in inputs}
  for path, source in outputs:
    identity = _identity(Path(path))
    if identity in taken:
      raise OutputCollision(f'{source} would be written to {str(path)!r}, over {taken[identity]}')
    taken[identity] = f'the output of {source}'


def read_npy(path: str | Path) -> np.ndarray:
  """The array of an .npy file (never a pickle): `FileNotFoundError` or `ValueError` with a
  one-line reason (missing, not an .npy file, cut short)."""
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'{str(path)!r} does not exist')
  with open(path, 'rb') as file:
    if file.read(6) != b'\x93NUMPY':
      raise ValueError(f'{str(path)!r} is not an .npy file')
  try:
    array = np.load(path, allow_pickle=False)
  except (OSError, ValueError) as error:
    raise ValueError(f'cannot read {str(path)!r}: {str(error).splitlines()[0]}') from None
  if not isinstance(array, np.ndarray):
    raise ValueError(f'{str(path)!r} is not an .npy file')
  return array
