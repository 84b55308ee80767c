"""The tests' processes: eight simulated CPU devices each (training subprocesses keep their
own), and one XLA compilation cache for the session, shared by pytest's workers and the
train.py processes the tests start.

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

import jax  # noqa: E402

jax.config.update('jax_compilation_cache_dir', CACHE)  # in case jax was imported before
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
jax.config.update('jax_num_cpu_devices', 8)
