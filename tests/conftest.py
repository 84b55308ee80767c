"""The tests' process: eight simulated CPU devices (training subprocesses keep their own), and
one XLA compilation cache for the session, shared with the training subprocesses.

Most tests compile the same tiny steps again, in this process and in the train.py processes they
start; with the cache each program compiles once. The cache starts empty, so the suite's time is
that of a clean checkout. A cached executable is the one a fresh compilation would produce.
"""

import atexit
import os
import shutil
import tempfile

CACHE = tempfile.mkdtemp(prefix='jaxgan-tests-xla-cache-')
atexit.register(shutil.rmtree, CACHE, ignore_errors=True)
os.environ['JAX_COMPILATION_CACHE_DIR'] = CACHE  # read by jax at import, here and in subprocesses
os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0'

import jax  # noqa: E402

jax.config.update('jax_compilation_cache_dir', CACHE)  # in case jax was imported before
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
jax.config.update('jax_num_cpu_devices', 8)
