"""The metrics equal their reference implementations with every default, and their formulas
written out; the mode counts of the 2-D mixtures and of the stacked digits are the protocol's.

`fixtures/metrics_reference.npz` was recorded by `tools/record_metrics.py`: pytorch-fid's
`calculate_activation_statistics` and `calculate_frechet_distance` on pool3 features of its own
Inception, torch-fidelity's KID, precision/recall and Inception Score, and prdc's density and
coverage, each with its defaults, on features stored beside them. No torch needed here.
"""

import itertools
from pathlib import Path

import numpy as np
import pytest

from jaxgan import mixtures
from jaxgan.evaluate import digits, metrics, modes

REFERENCE = np.load(Path(__file__).parent / 'fixtures' / 'metrics_reference.npz')
INCEPTION = np.load(Path(__file__).parent / 'fixtures' / 'inception_reference.npz')


@pytest.mark.parametrize('name', ['a', 'b'])
def test_fid_statistics_equal_pytorch_fids(name):
  """The mean and covariance of recorded pool3 features (24 samples of 2,048 features) equal
  pytorch-fid's `calculate_activation_statistics`: the covariance's diagonal, a block and its
  product with a fixed vector (the unbiased estimate, 1/(n - 1), as np.cov's default)."""
  mu, sigma = metrics.statistics(REFERENCE[f'fid/features_{name}'].astype(np.float32))
  scale = lambda x: np.abs(x).max()
  assert mu.shape == (2048,) and sigma.shape == (2048, 2048)
  np.testing.assert_allclose(mu, REFERENCE[f'fid/mu_{name}'], rtol=0,
                             atol=1e-6 * scale(REFERENCE[f'fid/mu_{name}']))  # theirs: float32
  for got, key in ((np.diagonal(sigma), 'sigma_diagonal'), (sigma[:64, :64], 'sigma_block'),
                   (sigma @ REFERENCE['fid/probe'], 'sigma_times_probe')):
    want = REFERENCE[f'fid/{key}_{name}']
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale(want), err_msg=key)


def test_fid_of_recorded_features_equals_pytorch_fids():
  """Features to statistics to distance, as jaxgan's evaluations compute it (`compare`), equal
  pytorch-fid's end to end (24 samples against 24: a singular product, which pytorch-fid's
  sqrtm handles with its offset and jaxgan's eigenvalues without)."""
  a, b = (REFERENCE[f'fid/features_{name}'].astype(np.float32) for name in 'ab')
  np.testing.assert_allclose(metrics.compare(a, b, ('fid',))['fid'], REFERENCE['fid/distance'],
                             rtol=1e-6)


@pytest.mark.parametrize('kind', ['full_rank', 'rank_deficient'])
def test_frechet_distance_equals_pytorch_fids(kind):
  stats = [INCEPTION[f'{kind}/{name}'] for name in ('mu1', 'sigma1', 'mu2', 'sigma2')]
  np.testing.assert_allclose(metrics.frechet_distance(*stats), INCEPTION[f'{kind}/fid'],
                             rtol=1e-6)


def test_kid_precision_recall_density_coverage_defaults_equal_the_references():
  """`compare` with no options (what `jaxgan-evaluate` and the evaluations during training run)
  gives torch-fidelity's KID (100 subsets of 1,000, cubic kernel, its seed) and
  precision/recall (k = 3), and prdc's density and coverage (k = 5), on 1,100 real and 1,050
  generated features."""
  report = metrics.compare(REFERENCE['real'], REFERENCE['fake'], ('kid', 'pr', 'dc'))
  np.testing.assert_allclose((report['kid'], report['kid_std']), REFERENCE['kid'], rtol=1e-6)
  np.testing.assert_allclose((report['precision'], report['recall']),
                             REFERENCE['precision_recall'], rtol=1e-6)
  np.testing.assert_allclose((report['density'], report['coverage']),
                             REFERENCE['density_coverage'], rtol=1e-6)
  assert 0 < report['precision'] < 1 and 0 < report['recall'] < 1 and report['kid'] > 0


def test_inception_score_defaults_equal_torch_fidelitys():
  """10 splits of the logits shuffled by torch-fidelity's seed, in float64."""
  np.testing.assert_allclose(metrics.inception_score(REFERENCE['logits']),
                             REFERENCE['inception_score'], rtol=1e-6)


def _points(seed, n, d=5, shift=0.0):
  return np.random.default_rng(seed).standard_normal((n, d)) + shift


def test_kid_is_the_unbiased_mmd_written_out():
  real, fake = _points(0, 12), _points(1, 15, shift=0.5)
  k = lambda a, b: (a @ b / 5 + 1) ** 3
  rng = np.random.RandomState(7)  # the same subsets: fake's rows first, then real's
  values = []
  for _ in range(3):
    x, y = fake[rng.choice(15, 12, replace=False)], real[rng.choice(12, 12, replace=False)]
    pairs = [(i, j) for i, j in itertools.product(range(12), repeat=2) if i != j]
    values.append(sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in pairs) / (12 * 11)
                  - 2 * sum(k(a, b) for a in x for b in y) / 144)
  mean, std = metrics.kernel_distance(real, fake, subsets=3, seed=7)
  np.testing.assert_allclose((mean, std), (np.mean(values), np.std(values)), rtol=1e-9)
  # Unbiased: near 0 for two samples of one law, far from it for a shifted law.
  same = metrics.kernel_distance(_points(6, 300), _points(7, 300), subsets=20, subset_size=200)
  shifted = metrics.kernel_distance(_points(6, 300), _points(8, 300, shift=0.5), subsets=20,
                                    subset_size=200)
  assert abs(same[0]) < 0.1 * shifted[0], (same, shifted)


def _kth_neighbour_radius(points, i, k):
  return sorted(np.linalg.norm(points[i] - points[j]) for j in range(len(points)) if j != i)[k - 1]


@pytest.mark.parametrize('k', [1, 3])
def test_precision_recall_density_coverage_written_out(k):
  real, fake = _points(3, 40, d=2), _points(4, 35, d=2, shift=0.7)
  radii = lambda points, k: [_kth_neighbour_radius(points, i, k) for i in range(len(points))]
  inside = lambda x, centres, r: [np.linalg.norm(x - c) <= rc for c, rc in zip(centres, r)]
  r_k, f_k, r_dc = radii(real, k), radii(fake, k), radii(real, k + 2)
  precision = np.mean([any(inside(f, real, r_k)) for f in fake])
  recall = np.mean([any(inside(r, fake, f_k)) for r in real])
  density = sum(sum(inside(f, real, r_dc)) for f in fake) / ((k + 2) * len(fake))
  coverage = np.mean([any(np.linalg.norm(f - r) <= rr for f in fake)
                      for r, rr in zip(real, r_dc)])
  np.testing.assert_allclose(metrics.precision_recall(real, fake, k), (precision, recall),
                             atol=1e-12)
  np.testing.assert_allclose(metrics.density_coverage(real, fake, k + 2), (density, coverage),
                             rtol=1e-6)
  assert 0 < precision < 1 and 0 < recall < 1 and 0 < coverage < 1  # the check distinguishes


def test_inception_score_written_out():
  """torch-fidelity's procedure spelled out: shuffle by RandomState(2020), softmax, splits at
  i * n // splits, exp of the mean KL to the split's marginal."""
  logits = np.random.default_rng(5).standard_normal((25, 7)) * 2
  shuffled = logits[np.random.RandomState(2020).permutation(25)]
  probabilities = np.exp(shuffled) / np.exp(shuffled).sum(1, keepdims=True)
  scores = []
  for part in (probabilities[:8], probabilities[8:16], probabilities[16:]):
    marginal = part.mean(0)
    scores.append(np.exp(np.mean([sum(p * np.log(p / marginal)) for p in part])))
  np.testing.assert_allclose(metrics.inception_score(logits, splits=3),
                             (np.mean(scores), np.std(scores)), rtol=1e-9)
  assert metrics.inception_score(logits, splits=3) != metrics.inception_score(
      logits, splits=3, shuffle_seed=None)
  np.testing.assert_allclose(metrics.inception_score(np.zeros((10, 7)), splits=1)[0], 1.0)


def _near(mixture, mode, distance, angle=0.7):
  """A point at `distance` from the mixture's mode `mode`."""
  return mixture.centers[mode] + distance * np.array([np.cos(angle), np.sin(angle)])


@pytest.mark.parametrize('name', ['grid25', 'ring8'])
def test_mode_coverage_counts_as_veegan_and_pacgan(name):
  """The protocol, on points placed by hand (distances in standard deviations): a sample is of
  high quality within 3 sigma of its nearest mode; a mode counts when a high-quality sample is
  near it; the reverse KL is of every sample's nearest-mode histogram against the uniform."""
  mixture = mixtures.MIXTURES[name]()
  std = mixture.std
  placed = ([(0, 0.0)] * 3 + [(1, 2.9 * std)] + [(2, 3.1 * std)] * 2 + [(3, 1.0 * std)] * 4
            + [(4, 10 * std)] * 2)  # (mode, distance): 12 samples, high quality 3 + 1 + 4
  points = np.stack([_near(mixture, mode, distance) for mode, distance in placed])
  report = modes.coverage(points, mixture)
  histogram = np.array([3, 1, 2, 4, 2]) / 12  # every sample, by its nearest mode
  want_kl = float(np.sum(histogram * np.log(histogram * len(mixture.centers))))
  assert report['modes'] == 3  # modes 0, 1 and 3; 2 and 4 only have samples beyond 3 sigma
  np.testing.assert_allclose(report['high_quality'], 8 / 12, rtol=1e-12)
  np.testing.assert_allclose(report['reverse_kl'], want_kl, rtol=1e-9)
  even = np.concatenate([mixture.centers] * 3)  # every mode, three times, exactly
  assert modes.coverage(even, mixture) == {'modes': len(mixture.centers), 'high_quality': 1.0,
                                           'reverse_kl': 0.0}
  collapsed = modes.coverage(np.repeat(mixture.centers[:1], 30, axis=0), mixture)
  np.testing.assert_allclose(collapsed['reverse_kl'], np.log(len(mixture.centers)), rtol=1e-12)


def test_the_mixtures_and_sample_counts_are_the_protocols():
  """VEEGAN's and PacGAN's mixtures: 8 modes of std 0.01 on the unit circle, 25 of std 0.05 on
  the grid {-4, -2, 0, 2, 4}^2, scored on 2,500 samples; stacked MNIST on 26,000."""
  ring, grid = mixtures.ring8(), mixtures.grid25()
  assert ring.std == 0.01 and grid.std == 0.05
  np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 1.0, rtol=1e-12)
  angles = np.sort(np.mod(np.arctan2(ring.centers[:, 1], ring.centers[:, 0]), 2 * np.pi))
  np.testing.assert_allclose(angles, np.arange(8) * np.pi / 4, atol=1e-12)
  assert sorted(map(tuple, grid.centers.tolist())) == list(
      itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
  assert modes.NUM_SAMPLES == 2500 and digits.STACKED_SAMPLES == 26_000


def test_stacked_digits_modes_and_kl_count_as_veegan_and_pacgan(monkeypatch):
  """With the classifier's three labels per image given, the report counts the distinct
  (red, green, blue) triples and KL(their histogram || uniform over 1,000)."""
  ids = np.array([7] * 5 + [314] * 3 + [999] * 2)  # 10 images, 3 modes
  monkeypatch.setattr(digits, 'stacked_mode_ids', lambda images: ids)
  report = digits.stacked_modes(np.zeros((10, 8, 8, 3)))
  p = np.array([0.5, 0.3, 0.2])
  assert report['modes'] == 3 and report['num_samples'] == 10
  np.testing.assert_allclose(report['kl'], float(np.sum(p * np.log(p * 1000))), rtol=1e-12)
  monkeypatch.setattr(digits, 'stacked_mode_ids', lambda images: np.repeat(np.arange(1000), 2))
  assert digits.stacked_modes(np.zeros((2000, 8, 8, 3))) == {'modes': 1000, 'kl': 0.0,
                                                               'num_samples': 2000}
