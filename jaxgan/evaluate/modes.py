"""Mode coverage on 2-D Gaussian mixtures, with the protocol of VEEGAN and PacGAN.

`ring8`: 8 Gaussians of std 0.01 evenly spaced on a circle of radius 1. `grid25`: 25 Gaussians of
std 0.05 at {-4, -2, 0, 2, 4}^2. From 2,500 generated samples:
  high_quality     the fraction of samples within 3 standard deviations of their nearest mode
  modes            the number of modes nearest to at least one high-quality sample
  reverse_kl       KL(generated mode histogram || uniform over the modes), with every sample
                   assigned to its nearest mode (0 when the modes are evenly covered, log K when
                   all samples sit on one of K modes)
"""

from typing import NamedTuple

import numpy as np

NUM_SAMPLES = 2500


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


def coverage(points: np.ndarray, mixture: Mixture) -> dict:
  """The protocol's three numbers for generated `points` (n, 2)."""
  distances = np.linalg.norm(points[:, None, :] - mixture.centers[None], axis=-1)
  nearest = distances.argmin(axis=1)
  good = distances[np.arange(len(points)), nearest] <= 3 * mixture.std
  histogram = np.bincount(nearest, minlength=len(mixture.centers)) / len(points)
  present = histogram > 0
  reverse_kl = float(np.sum(histogram[present] * np.log(histogram[present]
                                                        * len(mixture.centers))))
  return {'modes': int(len(np.unique(nearest[good]))), 'high_quality': float(good.mean()),
          'reverse_kl': reverse_kl}
