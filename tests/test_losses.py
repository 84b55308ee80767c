"""Losses: each against its formula; the f-GAN divergences against the paper's table and, at the
critic's optimum, against the divergence between two Gaussians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from jaxgan import losses


def test_losses_match_their_formulas():
  real, fake = jnp.array([-2.0, 0.3, 1.5]), jnp.array([0.7, -1.1, 0.0])
  p_real, p_fake = jax.nn.sigmoid(real), jax.nn.sigmoid(fake)
  cross_entropy = -jnp.log(p_real).mean() - jnp.log(1 - p_fake).mean()
  expected = {
      'non_saturating': (cross_entropy, -jnp.log(p_fake).mean()),
      'minimax': (cross_entropy, jnp.log(1 - p_fake).mean()),
      'hinge': (jnp.maximum(0, 1 - real).mean() + jnp.maximum(0, 1 + fake).mean(), -fake.mean()),
      'wasserstein': (fake.mean() - real.mean(), -fake.mean()),
      'least_squares': (0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
                        0.5 * ((fake - 1) ** 2).mean()),
      'lsgan': (((real - 1) ** 2).mean() + (fake ** 2).mean(), ((fake - 1) ** 2).mean()),
  }
  key = jax.random.key(0)
  for name, (d_loss, g_loss) in expected.items():
    loss = losses.LOSSES[name]()
    np.testing.assert_allclose(loss.discriminator(real, fake, key), d_loss, rtol=1e-6)
    np.testing.assert_allclose(loss.generator(fake, key), g_loss, rtol=1e-6)


# Nowozin et al. 2016, Table 2: points inside each conjugate's domain where f* is checked
# (Pearson's f* = t^2/4 + t is the supremum over u >= 0 only for t >= -2).
DOMAINS = {'kl': (-3.0, 2.0), 'reverse_kl': (-4.0, -0.2), 'pearson': (-1.5, 3.0),
           'squared_hellinger': (-3.0, 0.8), 'jensen_shannon': (-3.0, 0.6)}


@pytest.mark.parametrize('name', list(losses.F_DIVERGENCES))
def test_f_divergence_rows_match_the_paper_table(name):
  """f* is the convex conjugate of f (a numerical supremum over u > 0), the activation maps every
  logit into f*'s domain, and the fused f*(g(v)) equals the composition; f(1) = 0."""
  row = losses.F_DIVERGENCES[name]
  low, high = DOMAINS[name]
  for t in np.linspace(low, high, 7):
    objective = lambda log_u: float(row.f(np.exp(log_u))) - np.exp(log_u) * t
    best = optimize.minimize_scalar(objective, bounds=(-20, 10), method='bounded',
                                    options={'xatol': 1e-10})
    np.testing.assert_allclose(float(row.conjugate(t)), -best.fun, rtol=1e-5, atol=1e-6,
                               err_msg=f'{name} at t={t}')
  v = jnp.linspace(-4.0, 4.0, 33)
  t = row.activation(v)
  assert np.all(np.isfinite(row.conjugate(t)))
  np.testing.assert_allclose(row.conjugate_of_activation(v), row.conjugate(t), rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(float(row.f(1.0)), 0.0, atol=1e-7)


# P = N(0.5, 0.8^2), Q = N(0, 1): the density ratio is bounded, so every divergence is finite.
MU_P, SIGMA_P, MU_Q, SIGMA_Q = 0.5, 0.8, 0.0, 1.0


def _kl(mu1, s1, mu2, s2):
  return np.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5


def _bhattacharyya(mu1, s1, mu2, s2):
  return np.sqrt(2 * s1 * s2 / (s1 ** 2 + s2 ** 2)) * np.exp(-(mu1 - mu2) ** 2
                                                             / (4 * (s1 ** 2 + s2 ** 2)))


def _jensen_shannon_by_quadrature():
  p, q = stats.norm(MU_P, SIGMA_P).pdf, stats.norm(MU_Q, SIGMA_Q).pdf
  integrand = lambda x: (p(x) * np.log(2 * p(x) / (p(x) + q(x)))
                         + q(x) * np.log(2 * q(x) / (p(x) + q(x))))
  return integrate.quad(integrand, -12, 12, epsabs=1e-12)[0]  # 2 JSD (no closed form)


CLOSED_FORMS = {
    'kl': _kl(MU_P, SIGMA_P, MU_Q, SIGMA_Q),
    'reverse_kl': _kl(MU_Q, SIGMA_Q, MU_P, SIGMA_P),
    'pearson': (SIGMA_Q ** 2 / (SIGMA_P * np.sqrt(2 * SIGMA_Q ** 2 - SIGMA_P ** 2))
                * np.exp((MU_P - MU_Q) ** 2 / (2 * SIGMA_Q ** 2 - SIGMA_P ** 2)) - 1),
    'squared_hellinger': 2 * (1 - _bhattacharyya(MU_P, SIGMA_P, MU_Q, SIGMA_Q)),
    'jensen_shannon': _jensen_shannon_by_quadrature(),
}
# The optimal critic's logit: g_f(v*) = f'(p/q), inverted through each activation.
OPTIMAL_LOGIT = {
    'kl': lambda log_ratio: 1 + log_ratio,
    'reverse_kl': lambda log_ratio: log_ratio,
    'pearson': lambda log_ratio: 2 * jnp.expm1(log_ratio),
    'squared_hellinger': lambda log_ratio: log_ratio / 2,
    'jensen_shannon': lambda log_ratio: log_ratio,
}


@pytest.mark.parametrize('name', list(losses.F_DIVERGENCES))
def test_f_gan_critic_at_its_optimum_estimates_the_divergence(name):
  """-d/loss at the optimal critic equals D_f(P || Q) of two Gaussians (closed form; Jensen-
  Shannon by quadrature), over 200,000 stratified samples of each; any other critic scores less
  (the loss is a variational lower bound)."""
  n = 200_000
  quantiles = stats.norm.ppf((np.arange(n) + 0.5) / n)
  real, fake = MU_P + SIGMA_P * quantiles, MU_Q + SIGMA_Q * quantiles
  log_ratio = lambda x: (stats.norm(MU_P, SIGMA_P).logpdf(x) - stats.norm(MU_Q, SIGMA_Q).logpdf(x))
  loss = losses.LOSSES[f'f_{name}']()
  at_optimum = lambda perturbation: -float(loss.discriminator(
      jnp.asarray(OPTIMAL_LOGIT[name](log_ratio(real)) + perturbation(real), jnp.float32),
      jnp.asarray(OPTIMAL_LOGIT[name](log_ratio(fake)) + perturbation(fake), jnp.float32),
      None))
  estimate = at_optimum(lambda x: 0.0)
  np.testing.assert_allclose(estimate, CLOSED_FORMS[name], rtol=2e-3)
  for perturbation in (lambda x: 0.3, lambda x: -0.3 * np.sin(x)):
    assert at_optimum(perturbation) < estimate - 1e-4


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
def test_the_accuracy_calls_real_what_the_optimal_discriminator_would(name):
  """`says_real` is the Bayes decision each loss implies: where real samples are denser than
  generated ones (density ratio p/q > 1) the loss's optimal output is called "real", where they
  are rarer "generated". The optimum of p * (loss on a real sample) + q * (loss on a generated
  one) is found on a fine grid of outputs; WGAN's critic has no such optimum, and no accuracy;
  the relativistic critic scores pairs, and its accuracy is of pairs (`test_r3gan.py`)."""
  loss = losses.LOSSES[name](label_noise=0.0) if name == 'keras_bce' else losses.LOSSES[name]()
  outputs = jnp.linspace(-6.0, 6.0, 24_001)
  if loss.says_real is None:
    assert name in ('wasserstein', 'relativistic')
    pairs = {'d/pair_accuracy'} if loss.pairs else set()
    assert set(losses.equilibrium(loss, outputs, outputs)) == {'d/real_logit', 'd/fake_logit',
                                                                *pairs}
    return
  key, anchor = jax.random.key(0), jnp.zeros(1)
  on_real = jax.vmap(lambda v: loss.discriminator(v[None], anchor, key))(outputs)
  on_fake = jax.vmap(lambda v: loss.discriminator(anchor, v[None], key))(outputs)
  for p, q in [(1.0, 1.5), (1.5, 1.0), (1.0, 4.0), (4.0, 1.0)]:
    best = outputs[jnp.argmin(p * on_real + q * on_fake)]
    assert bool(loss.says_real(best)) == (p > q), (p, q, float(best))
  real, fake = jnp.array([best, best, -best]), jnp.array([-best])  # (p, q) = (4, 1)'s optimum
  metrics = losses.equilibrium(loss, real, fake)
  np.testing.assert_allclose(metrics['d/real_accuracy'], np.mean(loss.says_real(real)))
  np.testing.assert_allclose(metrics['d/fake_accuracy'], 1 - np.mean(loss.says_real(fake)))
  np.testing.assert_allclose(metrics['d/real_logit'], real.mean())
