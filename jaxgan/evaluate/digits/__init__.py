"""Do the samples look like digits? A classifier trained on the real digits labels them.

The first quality metric of the default run; `digit_features` gives a feature space of the digits
for the field's metrics (`jaxgan.evaluate.metrics`) without downloaded weights. A support vector classifier (scikit-learn, with
probabilities calibrated by Platt scaling) is fitted on 1,347 of scikit-learn's 1,797 8x8 digits; generated
images are reduced to 8x8 grey levels 0..16 and classified. Reported: the fraction classified with
confidence >= `threshold`, the histogram of predicted classes (a collapsed generator shows a few
classes), and, as the yardstick, the same fraction on the 450 held-out real digits.

The fitted classifier's numbers are cached (`~/.cache/jaxgan`, like the feature network's) and
evaluated in NumPy as scikit-learn's `predict_proba` (equal to 1e-12 in the tests): a run that
ends with this check neither imports scikit-learn nor fits again (2 s of a run's end on a 2-core
CPU). The cache keeps its first fit, so a machine's figures stay comparable across
scikit-learn versions.

  python -m jaxgan.evaluate.digits --samples samples.npy
"""

import functools
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from jaxgan.data import DEFAULT_CACHE, digit_split_order, digits_and_classes
from jaxgan.evaluate import cache


CLASSIFIER_CACHE = 'digit_svc_v1.npz'


class DigitClassifier(NamedTuple):
  """The numbers of scikit-learn's `CalibratedClassifierCV(SVC(gamma), ensemble=False)` fitted
  on the digits: an RBF support vector machine, one-vs-one over the 10 classes, and one Platt
  sigmoid per class. `probabilities` evaluates it as scikit-learn does."""
  support_vectors: np.ndarray  # (n_sv, 64), grouped by class
  n_support: np.ndarray  # (10,) support vectors of each class
  dual_coef: np.ndarray  # (9, n_sv)
  intercept: np.ndarray  # (45,) one per pair of classes, i < j in order
  gamma: np.ndarray  # () the RBF kernel's exp(-gamma |x - sv|^2)
  sigmoid_a: np.ndarray  # (10,) Platt scaling: p = 1 / (1 + exp(a * ovr + b))
  sigmoid_b: np.ndarray  # (10,)

  @classmethod
  def fit(cls, x, y, gamma: float = 0.001) -> 'DigitClassifier':
    """Fits scikit-learn's classifier on (x, y) and keeps its numbers."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC
    fitted = CalibratedClassifierCV(SVC(gamma=gamma), ensemble=False).fit(x, y)
    (calibrated,) = fitted.calibrated_classifiers_
    svm = calibrated.estimator
    assert list(svm.classes_) == list(range(10)), svm.classes_
    return cls(svm.support_vectors_, svm.n_support_, svm.dual_coef_, svm.intercept_,
               np.asarray(float(gamma)), np.array([c.a_ for c in calibrated.calibrators]),
               np.array([c.b_ for c in calibrated.calibrators]))

  def probabilities(self, x: np.ndarray) -> np.ndarray:
    """`(n, 64)` features -> `(n, 10)` calibrated class probabilities, computed as
    scikit-learn's `predict_proba` computes them (sklearn/calibration.py,
    `_CalibratedClassifier.predict_proba`): the SVM's one-vs-one decision values
    (sklearn/svm/_base.py, `decision_function`, libsvm's sum over both classes' support vectors
    plus the pair's intercept), turned into one-vs-rest scores (votes plus a tie-breaking sum of
    confidences squashed into (-1/3, 1/3): sklearn/utils/multiclass.py,
    `_ovr_decision_function`), each through its class's sigmoid, normalised to sum to 1."""
    x = np.asarray(x, np.float64)
    sv = self.support_vectors
    distances = (np.sum(x ** 2, 1)[:, None] + np.sum(sv ** 2, 1)[None, :] - 2 * x @ sv.T)
    kernel = np.exp(-self.gamma * np.maximum(distances, 0.0))
    bounds = np.concatenate([[0], np.cumsum(self.n_support)])
    of = [slice(bounds[c], bounds[c + 1]) for c in range(10)]
    votes, confidence, pair = np.zeros((len(x), 10)), np.zeros((len(x), 10)), 0
    for i in range(10):
      for j in range(i + 1, 10):
        decision = (kernel[:, of[i]] @ self.dual_coef[j - 1, of[i]]
                    + kernel[:, of[j]] @ self.dual_coef[i, of[j]] + self.intercept[pair])
        votes[:, i] += decision >= 0
        votes[:, j] += decision < 0
        confidence[:, i] += decision
        confidence[:, j] -= decision
        pair += 1
    scores = votes + confidence / (3 * (np.abs(confidence) + 1))
    sigmoids = 1 / (1 + np.exp(self.sigmoid_a * scores + self.sigmoid_b))
    total = sigmoids.sum(1, keepdims=True)
    return np.where(total != 0, sigmoids / np.where(total != 0, total, 1), 1 / 10)


def _classifier(cache_dir: str | None = None) -> tuple[DigitClassifier, np.ndarray]:
  """The digits classifier and the indices of the 450 digits held out from its fit, read from
  their cache (default: ~/.cache/jaxgan), else fitted on the other 1,347 digits with
  scikit-learn and cached; a damaged cache is fitted again. (The split is cached too: computing
  it imports `sklearn.model_selection`, 1.5 s.)"""
  path = Path(cache_dir or DEFAULT_CACHE) / CLASSIFIER_CACHE
  saved = cache.read(path)
  if saved is not None and {*DigitClassifier._fields, 'holdout'} <= set(saved):
    return DigitClassifier(**{name: saved[name] for name in DigitClassifier._fields}), \
        saved['holdout']
  x_train, _, y_train, _ = _split()
  classifier, holdout = DigitClassifier.fit(x_train, y_train), digit_split_order()[1]
  cache.write(path, {**classifier._asdict(), 'holdout': holdout})
  return classifier, holdout


@functools.cache
def _classifier_and_holdout() -> tuple[DigitClassifier, np.ndarray]:
  """The classifier and its held-out digits' features, `(450, 64)`."""
  classifier, holdout = _classifier()
  images, _ = digits_and_classes()
  return classifier, images.reshape(len(images), 64)[holdout]


def to_digit_features(images: np.ndarray) -> np.ndarray:
  """Images in [0, 1], `(n, h, w[, c])` with h and w multiples of 8 -> `(n, 64)` in 0..16."""
  images = np.asarray(images, np.float64)
  if images.ndim == 4:
    images = images.mean(axis=-1)
  n, h, w = images.shape
  if h % 8 or w % 8:
    raise ValueError(f'digit images must be a multiple of 8 pixels, got {h}x{w}')
  pooled = images.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
  return pooled.reshape(n, 64) * 16.0


def confidence_report(features: np.ndarray, threshold: float,
                      asked: np.ndarray | None = None) -> dict:
  classifier, _ = _classifier_and_holdout()
  probabilities = classifier.probabilities(features)
  labels = probabilities.argmax(axis=1)
  report = {
      'confident_fraction': float((probabilities.max(axis=1) >= threshold).mean()),
      'class_histogram': np.bincount(labels, minlength=10).tolist(),
  }
  if asked is not None:  # a conditional generator: is each sample of the class asked for?
    report['class_accuracy'] = float((labels == asked).mean())
    report['per_class_accuracy'] = [float((labels[asked == c] == c).mean()) for c in range(10)]
  return report


def digit_report(images: np.ndarray, threshold: float = 0.9,
                 asked: np.ndarray | None = None) -> dict:
  """How digit-like generated images in [0, 1] are, beside the same figure for real digits.
  With `asked` (the class each image was generated for), also the fraction classified as that
  class, overall and per class: what a class-conditional generator must get right."""
  _, holdout = _classifier_and_holdout()
  report = confidence_report(to_digit_features(images), threshold, asked)
  report['real_confident_fraction'] = confidence_report(holdout, threshold)['confident_fraction']
  report.update(threshold=threshold, num_samples=len(images))
  return report


FEATURE_STEPS = 400
FEATURE_CACHE = 'digit_features_v1.npz'


class _FeatureNet(nn.Module):
  """8x8 grey digits (0..16, flattened) -> 64 features (`features=True`) or 10 logits."""

  @nn.compact
  def __call__(self, x, features: bool = False):
    x = nn.relu(nn.Dense(128)(x / 16.0))
    x = nn.relu(nn.Dense(64)(x))
    return x if features else nn.Dense(10)(x)


_logits = jax.jit(_FeatureNet().apply)  # compiled once per input shape, not once per call
_features = jax.jit(functools.partial(_FeatureNet().apply, features=True))


def _split():
  """scikit-learn's digits, split as the classifier's: (x_train, x_holdout, y_train, y_holdout),
  x as 64 grey levels 0..16, as `train_test_split(load_digits().data, load_digits().target,
  test_size=450, random_state=0, stratify=load_digits().target)` gives them (without importing
  `sklearn.datasets`, which took 1 s of a run's start: `jaxgan.data.digits_and_classes`)."""
  images, classes = digits_and_classes()
  pixels = images.reshape(len(images), 64)
  train, holdout = digit_split_order()
  return pixels[train], pixels[holdout], classes[train], classes[holdout]


def _train_classifier(x, y) -> dict:
  """`_FeatureNet`'s parameters trained on (x, y): full-batch AdamW for FEATURE_STEPS steps from
  a fixed key (deterministic, a few seconds)."""
  x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y)
  net, tx = _FeatureNet(), optax.adamw(3e-3, weight_decay=1e-4)
  params = net.init(jax.random.key(0), x[:1])
  loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(net.apply(p, x), y).mean()

  @jax.jit
  def step(params, opt_state):
    updates, opt_state = tx.update(jax.grad(loss)(params), opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  opt_state = tx.init(params)
  for _ in range(FEATURE_STEPS):
    params, opt_state = step(params, opt_state)
  return params


def _train_feature_net() -> dict:
  """The feature network: the classifier trained on the same 1,347 digits as the SVC."""
  x_train, _, y_train, _ = _split()
  return _train_classifier(x_train, y_train)


def classification_accuracy_score(images: np.ndarray, labels: np.ndarray,
                                  small_real: int = 10) -> dict:
  """The Classification Accuracy Score (Ravuri & Vinyals 2019) on the digits: a classifier
  (`_FeatureNet`, the same recipe every time) trained on generated digits only and tested on the
  450 real held-out digits, beside the same classifier trained on the 1,347 real training
  digits; and the gain from generated digits as extra data: trained on `small_real` real digits
  per class, with and without the generated ones added."""
  x_train, x_holdout, y_train, y_holdout = _split()
  accuracy = lambda params: float(np.mean(np.asarray(
      _logits(params, jnp.asarray(x_holdout, jnp.float32))).argmax(1) == y_holdout))
  generated = to_digit_features(images)
  few = np.concatenate([np.flatnonzero(y_train == c)[:small_real] for c in range(10)])
  return {
      'cas': accuracy(_train_classifier(generated, labels)),
      'cas_real': accuracy(_train_classifier(x_train, y_train)),
      'cas_small_real': accuracy(_train_classifier(x_train[few], y_train[few])),
      'cas_small_real_plus_generated': accuracy(_train_classifier(
          np.concatenate([x_train[few], generated]), np.concatenate([y_train[few], labels]))),
  }


@functools.cache
def _feature_params(cache_dir: str | None = None) -> dict:
  """The feature network's parameters, trained once and cached as an .npz (default cache:
  ~/.cache/jaxgan); a damaged or missing cache is trained again."""
  path = Path(cache_dir or DEFAULT_CACHE) / FEATURE_CACHE
  template = jax.eval_shape(_FeatureNet().init, jax.random.key(0), jnp.zeros((1, 64)))
  leaves, tree = jax.tree.flatten(template)
  saved = cache.read(path) or {}
  loaded = [saved.get(f'leaf_{i}') for i in range(len(leaves))]
  if all(a is not None and a.shape == b.shape for a, b in zip(loaded, leaves)):
    return jax.tree.unflatten(tree, loaded)
  params = _train_feature_net()
  cache.write(path, {f'leaf_{i}': np.asarray(leaf)
                     for i, leaf in enumerate(jax.tree.leaves(params))})
  return params


def digit_features(images: np.ndarray, cache_dir: str | None = None) -> np.ndarray:
  """Images in [0, 1] (as `to_digit_features` takes them) -> `(n, 64)` features of a small
  network trained on the digits: a feature space for FID, KID and precision/recall on the
  embedded data that needs no downloaded weights."""
  return np.asarray(_features(_feature_params(cache_dir),
                               jnp.asarray(to_digit_features(images), jnp.float32)))


STACKED_SAMPLES = 26_000  # as VEEGAN and PacGAN count the modes of stacked MNIST


def stacked_mode_ids(images: np.ndarray) -> np.ndarray:
  """Each stacked-digit image's mode, 100 * (red's digit) + 10 * (green's) + (blue's), the
  digits as the feature network's classifier reads them."""
  params = _feature_params()
  labels = [np.asarray(_logits(params, jnp.asarray(to_digit_features(images[..., c]),
                                                   jnp.float32))).argmax(1) for c in range(3)]
  return 100 * labels[0] + 10 * labels[1] + labels[2]


def stacked_modes(images: np.ndarray) -> dict:
  """The stacked-digits mode count (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018):
  each channel of each image in [0, 1] `(n, h, w, 3)` is labelled by the digits classifier of
  the feature network, the three labels are the mode (1,000 of them), and the report gives the
  modes seen at least once and KL(sample modes || uniform)."""
  frequency = np.bincount(stacked_mode_ids(images), minlength=1000) / len(images)
  seen = frequency[frequency > 0]
  return {'modes': int(len(seen)), 'kl': float(np.sum(seen * np.log(seen * 1000))),
          'num_samples': len(images)}


def real_digits(split: str = 'holdout') -> np.ndarray:
  """The real digits as images in [0, 1] `(n, 8, 8)`: the 1,347 the networks were trained on
  ('train') or the 450 held out ('holdout')."""
  x_train, x_holdout, _, _ = _split()
  return {'train': x_train, 'holdout': x_holdout}[split].reshape(-1, 8, 8) / 16.0
