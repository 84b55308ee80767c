"""The benchmark's FLOP count agrees with XLA's, and its documented command runs."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest
from flax import linen as nn

from jaxgan import configs
from runs import ROOT

sys.path.insert(0, str(ROOT / 'benchmarks'))
import conv_transpose  # noqa: E402
import flops  # noqa: E402


def _xla_flops(module, shape):
  x = jnp.ones((1, *shape))
  params = module.init(jax.random.key(0), x)
  return jax.jit(module.apply).lower(params, x).compile().cost_analysis()['flops']


@pytest.mark.parametrize('config', [
    configs.get('dcgan32'),
    configs.get('digits').replace(image_size=12, g_base=3, g_widths=(8, 4), d_widths=(4, 8, 8)),
])
def test_layer_flops_equal_xla_cost_analysis_of_the_reference_layers(config):
  g, d = flops.forward_flops(config)
  size, c_in = config.g_base, config.g_dense_features
  expected_g = [_xla_flops(nn.Dense(size * size * c_in, use_bias=False), (config.latent_dim,))]
  for width in config.g_widths:
    layer = nn.ConvTranspose(width, (4, 4), (2, 2), padding='SAME', use_bias=False)
    expected_g.append(_xla_flops(layer, (size, size, c_in)))
    size, c_in = size * 2, width
  expected_g.append(_xla_flops(nn.Conv(config.channels, (5, 5), padding='SAME', use_bias=False),
                               (size, size, c_in)))
  expected_d, c_in = [], config.channels
  for width in config.d_widths:
    layer = nn.Conv(width, (4, 4), (2, 2), padding='SAME', use_bias=False)
    expected_d.append(_xla_flops(layer, (size, size, c_in)))
    size, c_in = -(-size // 2), width
  # XLA rewrites a product with one output column as a multiply and a sum: n - 1 additions.
  expected_d.append(_xla_flops(nn.Dense(1, use_bias=False), (size * size * c_in,)) + 1)
  assert g == expected_g
  assert d == expected_d


class _Generator(nn.Module):
  """The keras.io example's generator from Flax's own layers (the reference for XLA's count)."""
  config: object

  @nn.compact
  def __call__(self, z):
    c = self.config
    x = nn.Dense(c.g_base * c.g_base * c.g_dense_features)(z)
    x = x.reshape(z.shape[0], c.g_base, c.g_base, c.g_dense_features)
    for width in c.g_widths:
      x = nn.leaky_relu(nn.ConvTranspose(width, (4, 4), (2, 2), padding='SAME')(x), 0.2)
    return nn.sigmoid(nn.Conv(c.channels, (5, 5), padding='SAME')(x))


class _Discriminator(nn.Module):
  config: object

  @nn.compact
  def __call__(self, x):
    for width in self.config.d_widths:
      x = nn.leaky_relu(nn.Conv(width, (4, 4), (2, 2), padding='SAME')(x), 0.2)
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]


@pytest.mark.parametrize('preset', ['dcgan32', 'digits'])
def test_step_flops_equal_xla_cost_analysis_of_the_keras_step(preset):
  """`step_flops` against XLA's count of the keras.io example's step written with Flax's reference
  layers: the critic's gradient on B fakes and B reals, the generator's through the critic. XLA also
  counts elementwise work (biases, activations, the loss), under 1% here."""
  config = configs.get(preset).replace(batch_size=4)
  generator, critic = _Generator(config), _Discriminator(config)
  z = jnp.ones((config.batch_size, config.latent_dim))
  real = jnp.ones((config.batch_size, config.image_size, config.image_size, config.channels))
  g_params = generator.init(jax.random.key(0), z)
  d_params = critic.init(jax.random.key(1), real)

  def step(g_params, d_params, z_d, z_g, real):  # two latent batches, as the keras.io example draws
    fake = generator.apply(g_params, z_d)
    d_loss = lambda d: jax.nn.softplus(critic.apply(d, jnp.concatenate([fake, real]))).mean()
    g_loss = lambda g: jax.nn.softplus(-critic.apply(d_params, generator.apply(g, z_g))).mean()
    return jax.grad(d_loss)(d_params), jax.grad(g_loss)(g_params)

  xla = jax.jit(step).lower(g_params, d_params, z, z, real).compile().cost_analysis()['flops']
  assert 1.0 <= xla / flops.step_flops(config) < 1.01


@pytest.mark.slow
def test_throughput_command_writes_its_table(tmp_path):
  result = subprocess.run(
      [sys.executable, str(ROOT / 'benchmarks' / 'throughput.py'), '--cases', 'digits:8',
       '--dtypes', 'float32', '--frameworks', 'jaxgan', '--rounds', '2', '--steps', '1',
       '--peak-size', '256', '--out', str(tmp_path)], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  [row] = json.loads((tmp_path / 'throughput.json').read_text())['results']
  assert row['steps_timed'] == 2 and row['img_per_s'] > 0 and row['compile_s'] > 0
  config = configs.get('digits').replace(batch_size=8)
  assert row['useful_gflop_per_step'] == flops.step_flops(config) / 1e9


@pytest.mark.parametrize('function,kind', [
    (lambda a: a.astype(jnp.bfloat16), 'convert'),
    (lambda a: jnp.pad(a, ((1, 2), (3, 0))), 'pad'),
    (lambda a: jnp.concatenate([a, a], axis=1), 'concatenate'),
    (lambda a: a.sum(0), 'reduce'),
    (lambda a: jnp.tanh(a) * 3, 'elementwise'),
    (lambda a: a @ a, 'product'),
])
def test_profile_names_what_each_compiled_op_does(function, kind):
  """`profile_step.py` sorts the step's time by what each op of the compiled program does."""
  import profile_step
  text = jax.jit(function).lower(jnp.ones((64, 64))).compile().as_text()
  instructions, opcodes = profile_step.parse_hlo(text)
  entry = text[text.index('\nENTRY'):].split('\n}')[0]
  kinds = {profile_step.kind_of(instruction, opcodes) for name, instruction in instructions.items()
           if f'%{name} = ' in entry and instruction['opcode'] not in profile_step.PLUMBING}
  assert {k.split(' (')[0] for k in kinds} == {kind}


def test_profile_names_the_layer_of_an_op():
  import profile_step
  assert profile_step.layer_of(
      'jit(train_step)/transpose(jvp(Discriminator))/Conv_1/mn,kn->mk/dot_general') == 'D/Conv_1 bwd'
  assert profile_step.layer_of('jit(train_step)/jvp(Generator)/PhaseConvTranspose_2/stack') == (
      'G/PhaseConvTranspose_2 fwd')
  assert profile_step.layer_of('jit(train_step)/reduce_sum') == 'optimizer and rest'


def test_compile_profile_counts_this_processs_compilations_per_test(tmp_path, monkeypatch):
  """tools/compile_profile.py as pytest would drive it: a program compiled inside a test is
  in that test's row and in its function's, and the summary shows both. (A copy of the module of
  its own, so that a suite run with `-p compile_profile` keeps its listener and its figures.)"""
  import importlib.util
  spec = importlib.util.spec_from_file_location('compile_profile_copy',
                                                ROOT / 'tools' / 'compile_profile.py')
  compile_profile = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(compile_profile)
  compile_profile.pytest_configure(None)
  try:
    compile_profile._current[0] = 'tests/fake.py::test_it'
    jax.jit(lambda x: jnp.sin(x) * 3.0 + 0.5).lower(jnp.ones(7)).compile()
  finally:
    compile_profile._current[0] = '(outside tests)'
    monkeypatch.setenv(compile_profile.FOLDER, str(tmp_path))
    compile_profile.pytest_unconfigure(None)
  row = json.loads(next(tmp_path.glob('*.json')).read_text())['tests']['tests/fake.py::test_it']
  assert row['compile'] > 0 and row['lower'] > 0
  summary = compile_profile._summary(tmp_path, top=50)
  assert '| tests/fake.py::test_it |' in summary and 'compile jit(<lambda>)' in summary
  # Each process writes its own file; they are added up (here: the same process twice).
  once = compile_profile._summed(tmp_path)[0]['tests/fake.py::test_it']['compile']
  (tmp_path / 'gw1-0.json').write_text(next(tmp_path.glob('*.json')).read_text())
  twice = compile_profile._summed(tmp_path)[0]['tests/fake.py::test_it']['compile']
  assert once > 0 and twice == pytest.approx(2 * once)


def test_conv_transpose_benchmark_times_both_algorithms_on_equal_outputs():
  row = conv_transpose.time_layer(2, 8, 4, 4, rounds=1)
  assert row['phases_ms'] > 0 and row['winograd_ms'] > 0 and row['auto'] == 'phases'
  assert row['largest_difference'] < 1e-5
  big = jax.ShapeDtypeStruct((8, 32, 32, 256), jnp.float32), jnp.zeros((4, 4, 256, 512))
  with conv_transpose.phases_everywhere():
    assert conv_transpose.layers.auto_algorithm(*big, 2) == 'phases'
  assert conv_transpose.layers.auto_algorithm(*big, 2) == 'winograd'
