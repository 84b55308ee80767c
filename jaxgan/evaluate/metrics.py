"""The field's sample-quality metrics, on features of real and generated samples.

  frechet_distance     FID's distance between two Gaussians (Heusel et al. 2017), as pytorch-fid's
                       `calculate_frechet_distance` computes it
  kernel_distance      KID: the unbiased MMD^2 with the cubic polynomial kernel, averaged over
                       random subsets (Binkowski et al. 2018), as clean-fid and torch-fidelity
  precision_recall     improved precision and recall (Kynkaanniemi et al. 2019), k = 3
  density_coverage     density and coverage (Naeem et al. 2020), k = 5
  inception_score      exp(E KL(p(y|x) || p(y))) over splits (Salimans et al. 2016), as
                       torch-fidelity computes it

Features are `(n, d)` arrays. The nearest-neighbour metrics compute their distances in JAX, a
block of rows at a time (jitted: any backend); the Frechet distance and KID run in float64 on the
host, as the reference implementations do.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

BLOCK = 1024  # rows of a distance matrix computed at once


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """The mean and covariance (float64) FID compares."""
  features = np.asarray(features, np.float64)
  return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)).

  pytorch-fid (`fid_score.calculate_frechet_distance`) takes `scipy.linalg.sqrtm` of the
  product, adds 1e-6 to the diagonals when that root is not finite and drops a small imaginary
  part. The trace of the root is the sum of the square roots of the product's eigenvalues, which
  are those of the symmetric sigma1^(1/2) sigma2 sigma1^(1/2): computed so (`eigh`), it is real
  and defined for singular covariances without an offset.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  values, vectors = np.linalg.eigh(sigma1)
  root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
  middle = root1 @ sigma2 @ root1
  trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root)


def kernel_distance(real, fake, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 2020) -> tuple[float, float]:
  """KID: (mean, standard deviation) over `subsets` random subsets of `min(subset_size, n_real,
  n_fake)` samples of each set (drawn without replacement) of the unbiased MMD^2 with
  k(x, y) = (x.y / d + 1)^3.

  As torch-fidelity's `metric_kid.kid_features_to_metric` with its defaults (100 subsets of
  1,000, its `rng_seed` 2020, numpy's RandomState drawing each subset's generated rows, then its
  real rows), so the two give the same number; clean-fid's `kernel_distance` has the same
  defaults and draws from numpy's global state. Where a set has fewer than `subset_size`
  samples, torch-fidelity refuses and clean-fid (as here) takes subsets of the smaller size.
  """
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  d = real.shape[1]
  m = min(subset_size, len(real), len(fake))
  rng = np.random.RandomState(seed)
  kernel = lambda a, b: (a @ b.T / d + 1) ** 3
  values = []
  for _ in range(subsets):
    x = fake[rng.choice(len(fake), m, replace=False)]
    y = real[rng.choice(len(real), m, replace=False)]
    within = kernel(x, x) + kernel(y, y)
    values.append((within.sum() - np.trace(within)) / (m * (m - 1))
                  - 2 * kernel(x, y).sum() / m ** 2)
  return float(np.mean(values)), float(np.std(values))


@jax.jit
def _squared_distances(rows, columns):
  return jnp.maximum(jnp.sum(rows ** 2, 1)[:, None] + jnp.sum(columns ** 2, 1)[None, :]
                     - 2 * rows @ columns.T, 0.0)


def _blocks(rows, columns, reduce):
  """`reduce(squared distances of a block of rows to every column)` for each block, joined."""
  rows, columns = jnp.asarray(rows, jnp.float32), jnp.asarray(columns, jnp.float32)
  return np.concatenate([np.asarray(reduce(_squared_distances(rows[i:i + BLOCK], columns)))
                         for i in range(0, len(rows), BLOCK)])


def nearest_neighbour_radii(features, k: int) -> np.ndarray:
  """Each sample's distance to its k-th nearest neighbour among the others (itself excluded)."""
  kth = functools.partial(lambda k, d: jnp.sqrt(-jax.lax.top_k(-d, k + 1)[0][:, k]), k)
  return _blocks(features, features, kth)


def _inside_counts(samples, centres, radii) -> np.ndarray:
  """For each sample, how many of the balls B(centre, radius) hold it."""
  radii = jnp.asarray(radii, jnp.float32)
  return _blocks(samples, centres, lambda d: jnp.sum(d <= radii[None, :] ** 2, axis=1))


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
  """Improved precision (fraction of fake samples inside the real manifold: the union of balls
  around each real sample reaching its k-th nearest real neighbour) and recall (real samples
  inside the fake manifold). k = 3 as Kynkaanniemi et al."""
  precision = np.mean(_inside_counts(fake, real, nearest_neighbour_radii(real, k)) > 0)
  recall = np.mean(_inside_counts(real, fake, nearest_neighbour_radii(fake, k)) > 0)
  return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
  """Density: the mean number of real k-NN balls holding a fake sample, divided by k; coverage:
  the fraction of real samples whose ball holds at least one fake sample. k = 5 as Naeem et al."""
  radii = nearest_neighbour_radii(real, k)
  density = _inside_counts(fake, real, radii).sum() / (k * len(fake))
  coverage = np.mean(_covered(real, fake, radii))
  return float(density), float(coverage)


def _covered(real, fake, radii) -> np.ndarray:
  """For each real sample, whether its nearest fake sample is inside its ball."""
  nearest = _blocks(real, fake, lambda d: jnp.min(d, axis=1))
  return np.sqrt(nearest) <= radii


def compare(real, fake, chosen=('fid', 'kid', 'pr', 'dc')) -> dict:
  """The chosen metrics of `fake` features against `real` ones: fid, kid (with kid_std), pr
  (precision, recall), dc (density, coverage)."""
  report = {}
  if 'fid' in chosen:
    report['fid'] = frechet_distance(*statistics(real), *statistics(fake))
  if 'kid' in chosen:
    report['kid'], report['kid_std'] = kernel_distance(real, fake)
  if 'pr' in chosen:
    report['precision'], report['recall'] = precision_recall(real, fake)
  if 'dc' in chosen:
    report['density'], report['coverage'] = density_coverage(real, fake)
  return report


def inception_score(logits, splits: int = 10, shuffle_seed: int | None = 2020
                    ) -> tuple[float, float]:
  """(mean, standard deviation) over `splits` splits of exp(E_x KL(p(y|x) || p(y))), p(y|x) the
  softmax of each sample's `logits`, p(y) its split's mean.

  As torch-fidelity computes it (`metric_isc.isc_features_to_metric`, on the unbiased logits of
  `inception.classifier_logits`): the samples shuffled by numpy's RandomState(2020) first
  (`shuffle_seed=None` keeps their order), in float64, split at i * n // splits.
  """
  logits = np.asarray(logits, np.float64)
  if len(logits) < splits:
    raise ValueError(f'the Inception Score over {splits} splits needs at least {splits} samples, '
                     f'got {len(logits)}')
  if shuffle_seed is not None:
    logits = logits[np.random.RandomState(shuffle_seed).permutation(len(logits))]
  log_p = logits - logits.max(1, keepdims=True)
  log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
  p, n = np.exp(log_p), len(logits)
  scores = []
  for i in range(splits):
    part = slice(i * n // splits, (i + 1) * n // splits)
    marginal = p[part].mean(0, keepdims=True)
    scores.append(np.exp(np.sum(p[part] * (log_p[part] - np.log(marginal)), axis=1).mean()))
  return float(np.mean(scores)), float(np.std(scores))
