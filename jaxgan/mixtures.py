"""The 2-D Gaussian mixtures of VEEGAN and PacGAN: datasets of points (`jaxgan.data`) and what
their mode coverage is measured against (`jaxgan.evaluate.modes`).

`ring8`: 8 Gaussians of std 0.01 evenly spaced on a circle of radius 1. `grid25`: 25 Gaussians of
std 0.05 at {-4, -2, 0, 2, 4}^2.
"""

from typing import NamedTuple

import numpy as np


class Mixture(NamedTuple):
  centers: np.ndarray  # (modes, 2)
  std: float

  def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` points, modes drawn uniformly, as float32 (count, 2)."""
    modes = rng.integers(0, len(self.centers), count)
    points = self.centers[modes] + self.std * rng.standard_normal((count, 2))
    return points.astype(np.float32)


def ring8() -> Mixture:
  angles = 2 * np.pi * np.arange(8) / 8
  return Mixture(np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def grid25() -> Mixture:
  ticks = np.arange(-4.0, 5.0, 2.0)
  return Mixture(np.stack(np.meshgrid(ticks, ticks), axis=-1).reshape(-1, 2), 0.05)


MIXTURES = {'ring8': ring8, 'grid25': grid25}
