"""The digits check and feature space: the classifier is scikit-learn's, cached or not; the
features separate real digits from noise; CAS of the real digits is the real baseline; the
stacked digits' 1,000 modes; the `python -m jaxgan.evaluate.digits` command."""


import numpy as np
import pytest

from jaxgan.evaluate import metrics
from jaxgan.commands import digits as digits_command


def test_digit_features_separate_real_digits_from_noise(tmp_path):
  """The offline feature space: real-vs-real (trained-on vs held-out digits) is the floor, far
  below real-vs-noise, and a cached network, or one trained again over a damaged cache, gives
  the same features as a fresh one."""
  from jaxgan.evaluate import digits
  train = digits.digit_features(digits.real_digits('train'), tmp_path)
  holdout = digits.digit_features(digits.real_digits('holdout'), tmp_path)
  noise = digits.digit_features(np.random.default_rng(0).random((450, 8, 8)), tmp_path)
  floor = metrics.frechet_distance(*metrics.statistics(train), *metrics.statistics(holdout))
  far = metrics.frechet_distance(*metrics.statistics(train), *metrics.statistics(noise))
  assert floor < 0.05 * far, (floor, far)
  assert metrics.precision_recall(train, holdout)[0] > 0.8 > metrics.precision_recall(train,
                                                                                      noise)[0]
  digits._feature_params.cache_clear()  # read back from the cache file
  np.testing.assert_array_equal(digits.digit_features(digits.real_digits('holdout'), tmp_path),
                                holdout)
  digits._feature_params.cache_clear()  # a damaged cache file is trained again, alike
  (tmp_path / digits.FEATURE_CACHE).write_bytes(b'PK\x03\x04 cut short')
  np.testing.assert_array_equal(digits.digit_features(digits.real_digits('holdout'), tmp_path),
                                holdout)


def test_digit_classifier_gives_scikit_learns_probabilities_fitted_or_cached(tmp_path):
  """The digits check's classifier evaluated in NumPy equals scikit-learn's `predict_proba` of
  the same fit, on the held-out digits and on uniform noise; read back from its cache it is the
  same classifier; a damaged cache is fitted again, and a cache that cannot be written is left
  out."""
  from sklearn.calibration import CalibratedClassifierCV
  from sklearn.svm import SVC

  from jaxgan.data import digits_and_classes
  from jaxgan.evaluate import digits
  x_train, x_holdout, y_train, _ = digits._split()
  features = np.concatenate([x_holdout, np.random.default_rng(0).uniform(0, 16, (300, 64))])
  want = CalibratedClassifierCV(SVC(gamma=0.001), ensemble=False).fit(
      x_train, y_train).predict_proba(features)
  fitted, holdout = digits._classifier(tmp_path)
  np.testing.assert_allclose(fitted.probabilities(features), want, rtol=0, atol=1e-12)
  images, _ = digits_and_classes()
  np.testing.assert_array_equal(images.reshape(-1, 64)[holdout], x_holdout)
  cached, cached_holdout = digits._classifier(tmp_path)
  np.testing.assert_array_equal(cached_holdout, holdout)
  for name in digits.DigitClassifier._fields:
    np.testing.assert_array_equal(getattr(cached, name), getattr(fitted, name), err_msg=name)
  (tmp_path / digits.CLASSIFIER_CACHE).write_bytes(b'PK\x03\x04 cut short')
  np.testing.assert_array_equal(digits._classifier(tmp_path)[0].probabilities(features),
                                fitted.probabilities(features))
  assert sorted(path.name for path in tmp_path.iterdir()) == [digits.CLASSIFIER_CACHE]
  (tmp_path / 'a_file').write_text('')  # a cache folder that cannot be made: fitted, not cached
  np.testing.assert_array_equal(digits._classifier(tmp_path / 'a_file')[0].probabilities(
      features), fitted.probabilities(features))


def test_digits_check_command_reports_a_file_and_refuses_bad_ones_in_one_line(tmp_path, capsys):
  import json

  from jaxgan.evaluate import digits

  from runs import main_in_process
  real = (digits.real_digits('holdout') * 255).round().astype(np.uint8)  # uint8 is read / 255
  np.save(tmp_path / 'real.npy', real)
  code, out, _ = main_in_process(capsys, '--samples', str(tmp_path / 'real.npy'),
                                 main=digits_command.main)
  assert code == 0
  report = json.loads(out)
  assert report['num_samples'] == 450
  assert abs(report['confident_fraction'] - report['real_confident_fraction']) < 0.02, report
  np.save(tmp_path / 'odd.npy', np.zeros((3, 12, 12)))
  (tmp_path / 'bad.npy').write_bytes(b'not an array')
  for name, message in (('missing.npy', 'does not exist'), ('bad.npy', 'not an .npy file'),
                        ('odd.npy', 'multiple of 8')):
    code, _, err = main_in_process(capsys, '--samples', str(tmp_path / name), main=digits_command.main)
    assert code == 2 and err.count('\n') == 1 and message in err, err


def test_classification_accuracy_score_of_the_real_digits_is_the_real_baseline():
  """CAS trains one recipe on whatever it is given: given the real training digits as the
  'generated' ones, it is exactly the real baseline; with their labels shuffled, chance."""
  from sklearn.datasets import load_digits
  from sklearn.model_selection import train_test_split

  from jaxgan.evaluate import digits
  loaded = load_digits()
  images, _, labels, _ = train_test_split(loaded.images / 16.0, loaded.target, test_size=450,
                                          random_state=0, stratify=loaded.target)
  report = digits.classification_accuracy_score(images, labels)
  assert report['cas'] == report['cas_real'] > 0.95
  assert report['cas_small_real'] < report['cas_small_real_plus_generated']
  shuffled = digits.classification_accuracy_score(images, np.random.default_rng(0).permutation(
      labels))
  assert shuffled['cas'] < 0.3


def test_stacked_digits_have_a_thousand_modes_and_a_collapse_shows():
  """The stacked digits themselves cover the 1,000 modes nearly uniformly (the classifier's
  floor); red is the hundreds; copying one channel into all three leaves 10 modes."""
  from sklearn.datasets import load_digits

  from jaxgan import data
  from jaxgan.evaluate import digits
  real = data.load_dataset('stacked_digits', 16, 3)[:digits.STACKED_SAMPLES] / 255.0
  report = digits.stacked_modes(real)
  assert report['modes'] == 1000 and report['kl'] < 0.05, report
  collapsed = digits.stacked_modes(np.repeat(real[..., :1], 3, axis=-1))
  assert collapsed['modes'] <= 12 and collapsed['kl'] > 2, collapsed
  loaded = load_digits()
  three, one, four = (loaded.images[np.flatnonzero(loaded.target == d)[0]] / 16.0
                      for d in (3, 1, 4))
  assert digits.stacked_mode_ids(np.stack([three, one, four], -1)[None])[0] == 314
  with pytest.raises(data.DatasetError, match='channels must be 3'):
    data.load_dataset('stacked_digits', 16, 1)

