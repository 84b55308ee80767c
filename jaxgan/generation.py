"""Generating many samples in the memory of a few: the generator runs on batches of a bounded
size and the samples are joined on the host, so that 1,000 samples for a check, an evaluation or
a tool cost the device what one batch costs, not a thousand times the memory of one sample."""

from collections.abc import Callable
from typing import Any

import jax
import numpy as np


def _is_key(value) -> bool:
  return jax.dtypes.issubdtype(getattr(value, 'dtype', None), jax.dtypes.prng_key)


def in_batches(generate: Callable[[dict], Any], inputs: dict, batch_size: int,
               between: Callable[[], None] | None = None) -> np.ndarray:
  """`generate(inputs)` computed `batch_size` rows of `inputs` at a time, joined on the host.

  `inputs`: a game's inputs, arrays of one row per sample (latents, labels, source images)
  beside PRNG keys shared by the batch (its noise, its dropout). Inputs of at most `batch_size`
  rows go through in one call, as they are; otherwise batch i > 0 draws from its keys folded
  with i, and the last batch is filled up with copies of its last row (one program serves every
  batch; the copies are dropped). `between()` runs before each batch: a place to stop.
  """
  rows = [value for value in inputs.values() if not _is_key(value) and np.ndim(value) >= 1]
  count = len(rows[0]) if rows else 0
  if count <= batch_size:
    if between is not None:
      between()
    return np.asarray(generate(inputs))
  parts = []
  for index, start in enumerate(range(0, count, batch_size)):
    if between is not None:
      between()
    chosen = np.minimum(np.arange(start, start + batch_size), count - 1)
    batch = {name: (jax.random.fold_in(value, index) if index else value) if _is_key(value)
             else value[chosen] if np.ndim(value) >= 1 and len(value) == count else value
             for name, value in inputs.items()}
    parts.append(np.asarray(generate(batch))[:count - start])
  return np.concatenate(parts)
