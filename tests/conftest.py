"""The tests' processes: eight simulated CPU devices each (training subprocesses keep their
own), one XLA compilation cache for the session, shared by pytest's workers and the train.py
processes the tests start, and LLVM at -O0 for all of them (below).

Many tests compile the same tiny steps again, in these processes and in the train.py processes
they start; with the cache each program compiles once. The cache starts empty for every session,
so the suite's time is that of a clean checkout. A cached executable is the one a fresh
compilation would produce.
"""

import atexit
import os
import shutil
import tempfile

SHARED = 'JAXGAN_TESTS_XLA_CACHE'
if SHARED not in os.environ:  # the first process of the session (pytest-xdist's workers inherit)
  os.environ[SHARED] = tempfile.mkdtemp(prefix='jaxgan-tests-xla-cache-')
  atexit.register(shutil.rmtree, os.environ[SHARED], ignore_errors=True)
CACHE = os.environ[SHARED]
os.environ['JAX_COMPILATION_CACHE_DIR'] = CACHE  # read by jax at import, here and in subprocesses
os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0'
# The tests compile many programs and run few steps of each, so they trade run time for compile
# time with two XLA:CPU flags, set in the environment so that the train.py processes the tests
# start compile alike (a process that trains at real size takes `runs.real_size_environment()`):
# - LLVM at -O0 compiles in about half the time (the tests' tiny StyleGAN2 step 39.9 s at -O1,
#   20.6 s at -O0; the whole suite 1,909 s at -O1, 1,244 s at -O0, one session on a 2-core AMD
#   EPYC) and runs slower, which few steps do not feel;
# - the classic elemental emitters instead of the MLIR fusion emitters: that step 21.3-22.8 s ->
#   12.9-17.5 s to compile, test_game.py and test_presets_pinned.py 107.8 -> 84.0 s (same machine,
#   one session); at real size they run slower (the default recipe 331-389 against 368-426 img/s);
# - LLVM's code generated as one module instead of 32 compiled on threads: with two workers on two
#   cores the threads only add work (that step 19.3-22.4 s -> 17.8-19.6 s to compile; a process
#   that builds, lowers and compiles it and the digits step 9% less CPU time; three runs each).
# Results differ from the defaults by float rounding only (seen: the last bit of one normal draw in
# 32), which every comparison here tolerates or shares (both sides compiled alike).
FAST_COMPILE_FLAGS = {'--xla_backend_optimization_level': '0',
                      '--xla_cpu_use_fusion_emitters': 'false',
                      '--xla_cpu_parallel_codegen_split_count': '1'}
os.environ.setdefault('JAXGAN_TESTS_USER_XLA_FLAGS', os.environ.get('XLA_FLAGS', ''))
for name, value in FAST_COMPILE_FLAGS.items():
  if name not in os.environ.get('XLA_FLAGS', ''):
    os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + f' {name}={value}').strip()

# glibc's malloc gives large freed blocks back to the system and takes them again zero-filled,
# page by page, on the next step: a real-size digits run of 100 steps took 1.6 million page
# faults and 6.9 s of system time; kept in the process instead, 0.24 million and 1.7 s (a 2-core
# AMD EPYC). Read when a process starts: here for pytest-xdist's workers and the train.py
# processes, which inherit the environment.
for name, value in {'MALLOC_MMAP_THRESHOLD_': '1000000000', 'MALLOC_TRIM_THRESHOLD_': '1000000000',
                    'MALLOC_TOP_PAD_': '268435456'}.items():
  os.environ.setdefault(name, value)

import jax  # noqa: E402

jax.config.update('jax_compilation_cache_dir', CACHE)  # in case jax was imported before
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
jax.config.update('jax_num_cpu_devices', 8)

import pytest  # noqa: E402

from runs import train  # noqa: E402


@pytest.fixture(scope='session')
def uninterrupted(tmp_path_factory):
  """train.py, 24 steps in one go of a tiny digits model, checkpoints every 4: the run every
  interrupted run must end equal to, and a workdir to sample from (one per pytest worker)."""
  workdir = tmp_path_factory.mktemp('uninterrupted')
  result = train(workdir, '--steps', '24', '--checkpoint-every', '4')
  assert result.returncode == 0, result.stderr
  return workdir

