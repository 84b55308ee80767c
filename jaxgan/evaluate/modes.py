"""Mode coverage on the 2-D Gaussian mixtures (`jaxgan.mixtures`), with the protocol of VEEGAN
and PacGAN. From 2,500 generated samples:
  high_quality     the fraction of samples within 3 standard deviations of their nearest mode
  modes            the number of modes nearest to at least one high-quality sample
  reverse_kl       KL(generated mode histogram || uniform over the modes), with every sample
                   assigned to its nearest mode (0 when the modes are evenly covered, log K when
                   all samples sit on one of K modes)
"""

import numpy as np

from jaxgan.mixtures import Mixture

NUM_SAMPLES = 2500


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
