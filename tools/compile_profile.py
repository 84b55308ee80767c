"""Where the test suite's time goes: JAX's tracing, lowering and XLA compilation, per test and per
function, from the events JAX reports (`jax.monitoring`), with the persistent cache's hits.

As a pytest plugin, each process of the run (pytest-xdist's workers too) writes what it saw into
`$JAXGAN_COMPILE_PROFILE` (a folder); run as a script, it sums those files into tables:

  JAXGAN_COMPILE_PROFILE=/tmp/profile PYTHONPATH=tools python -m pytest -q -p compile_profile
  python tools/compile_profile.py /tmp/profile

Only this process's events: the `train.py` processes the tests start are counted in their test's
wall time, not in its compile columns. `--durations` gives the wall times alone.
"""

import argparse
import collections
import json
import os
import time
from pathlib import Path

import pytest

FOLDER = 'JAXGAN_COMPILE_PROFILE'
EVENTS = {'/jax/core/compile/jaxpr_trace_duration': 'trace',
          '/jax/core/compile/jaxpr_to_mlir_module_duration': 'lower',
          '/jax/core/compile/backend_compile_duration': 'compile',
          '/jax/compilation_cache/cache_retrieval_time_sec': 'cache_read',
          '/jax/compilation_cache/compile_time_saved_sec': 'cache_saved'}

_tests = collections.defaultdict(lambda: collections.defaultdict(float))  # test -> column -> s
_functions = collections.defaultdict(lambda: collections.defaultdict(float))  # (column, fn)
_current = ['(outside tests)']


def _record(event, duration, **kwargs):
  column = EVENTS.get(event)
  if column is None:
    return
  _tests[_current[0]][column] += duration
  key = f'{column} {kwargs.get("fun_name")}'
  _functions[key]['s'] += duration
  _functions[key]['n'] += 1


def pytest_configure(config):
  import jax.monitoring
  jax.monitoring.register_event_duration_secs_listener(_record)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
  _current[0], start = item.nodeid, time.perf_counter()
  yield
  _tests[item.nodeid]['wall'] += time.perf_counter() - start
  _current[0] = '(outside tests)'


def pytest_unconfigure(config):
  import jax.monitoring
  jax.monitoring.unregister_event_duration_listener(_record)
  folder = os.environ.get(FOLDER)
  if folder:
    Path(folder).mkdir(parents=True, exist_ok=True)
    name = os.environ.get('PYTEST_XDIST_WORKER', 'main')
    (Path(folder) / f'{name}-{os.getpid()}.json').write_text(
        json.dumps({'tests': _tests, 'functions': _functions}))


def _summed(folder: Path) -> tuple[dict, dict]:
  """(seconds by test and column, seconds and events by column and function), summed over the
  processes' files: every process has an '(outside tests)' row, and a function may have
  compiled in several."""
  tables = {'tests': collections.defaultdict(lambda: collections.defaultdict(float)),
            'functions': collections.defaultdict(lambda: collections.defaultdict(float))}
  for file in sorted(folder.glob('*.json')):
    for table, rows in json.loads(file.read_text()).items():
      for row, values in rows.items():
        for column, value in values.items():
          tables[table][row][column] += value
  return tables['tests'], tables['functions']


def _summary(folder: Path, top: int) -> str:
  tests, functions = _summed(folder)
  columns = ('wall', 'trace', 'lower', 'compile', 'cache_read', 'cache_saved')
  totals = {c: sum(t.get(c, 0.0) for t in tests.values()) for c in columns}
  lines = ['all tests: ' + ', '.join(f'{c} {totals[c]:.1f} s' for c in columns),
           '(cache_saved is JAX\'s figure: compile time the cache saved, less than 0 where '
           'reading took longer than compiling)', '',
           '| test | ' + ' | '.join(columns) + ' |', '|---' * (len(columns) + 1) + '|']
  for name, values in sorted(tests.items(), key=lambda kv: -kv[1].get('wall', 0.0))[:top]:
    lines.append(f'| {name} | ' + ' | '.join(f'{values.get(c, 0.0):.1f}' for c in columns) + ' |')
  lines += ['', '| seconds | events | what, of which function |', '|---|---|---|']
  for key, values in sorted(functions.items(), key=lambda kv: -kv[1]['s'])[:top]:
    lines.append(f'| {values["s"]:.1f} | {int(values["n"])} | {key} |')
  return '\n'.join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('folder', type=Path, help=f'the folder ${FOLDER} named during the run')
  parser.add_argument('--top', type=int, default=30, help='rows of each table')
  args = parser.parse_args(argv)
  if not any(args.folder.glob('*.json')):
    parser.error(f'no profiles in {str(args.folder)!r}: run pytest with {FOLDER} set first')
  print(_summary(args.folder, args.top))


if __name__ == '__main__':
  main()
