"""Arrays cached in .npz files (the digits classifier, the digit feature network, a run's real
features): read back whole or not at all, written aside and renamed into place."""

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np


def read(path: Path) -> dict | None:
  """The arrays of an .npz cache, or None when it is missing or damaged (a kill or a full disk
  during a write that was not renamed into place, a file cut short by a copy)."""
  try:
    with np.load(path, allow_pickle=False) as saved:
      return {name: saved[name] for name in saved.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile):
    return None


def write(path: Path, arrays: dict) -> None:
  """Writes an .npz cache aside and renames it into place, so that processes filling the same
  cache at once never read half a file. A cache that cannot be written (a read-only home, a full
  disk) is left out: the next process computes it again."""
  partial = path.with_name(f'{path.name}.{os.getpid()}.partial.npz')
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(partial, **arrays)
    os.replace(partial, path)
  except OSError:
    with contextlib.suppress(OSError):
      partial.unlink(missing_ok=True)
