"""What the commands share: one-line errors, flag types, the compilation cache, a workdir's
writability, families of one's own."""

import argparse
import importlib
import importlib.metadata
import importlib.util
import math
import os
import sys
from pathlib import Path

from jaxgan.data import DEFAULT_CACHE


class OneLineErrorParser(argparse.ArgumentParser):
  """argparse that reports a usage error in one line (no usage dump), exit code 2. Run as one
  of the installed commands (`jaxgan-train`, `jaxgan-sample`, ...), it names itself so."""

  def __init__(self, prog: str, **kwargs):
    super().__init__(prog=command_name(prog), **kwargs)

  def error(self, message):
    self.exit(2, f'{self.prog}: error: {message}\n')


def command_name(prog: str) -> str:
  """`prog`, or the installed command's name (`jaxgan-train`, ...) when run as one."""
  command = Path(sys.argv[0]).name
  return command if command.startswith('jaxgan-') else prog


def positive_int(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}') from None
  if value <= 0:
    raise argparse.ArgumentTypeError(f'must be positive, got {value}')
  return value


def non_negative_int(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f'expected an integer, 0 or more, got {text!r}') from None
  if value < 0:
    raise argparse.ArgumentTypeError(f'must be 0 or more, got {value}')
  return value


def random_seed(text: str) -> int:
  """A random seed: an integer in [0, 2**31)."""
  value = non_negative_int(text)
  if value >= 2 ** 31:
    raise argparse.ArgumentTypeError(f'must be below 2**31, got {value}')
  return value


def finite_float(text: str) -> float:
  try:
    value = float(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None
  if not math.isfinite(value):
    raise argparse.ArgumentTypeError(f'must be finite, got {text!r}')
  return value


def coordinator_address(text: str) -> str:
  """'auto', or HOST:PORT with a port in 1..65535."""
  host, _, port = text.rpartition(':')
  if text != 'auto' and not (host and port.isdigit() and 0 < int(port) < 65536):
    raise argparse.ArgumentTypeError(f"expected HOST:PORT (a port 1..65535) or 'auto', got "
                                     f"{text!r}")
  return text


DEFAULT_COMPILE_CACHE = DEFAULT_CACHE / 'xla'  # beside the datasets' caches

COMPILE_CACHE_LIMIT = 4 * 2 ** 30  # bytes; the least recently used programs go first


def add_compile_cache_flag(parser: argparse.ArgumentParser) -> None:
  parser.add_argument('--compile-cache', metavar='DIR',
                      help='where compiled programs are kept for later runs, or none '
                           '(default: $JAX_COMPILATION_CACHE_DIR if set, else '
                           f'{DEFAULT_COMPILE_CACHE})')


def use_compile_cache(choice: str | None) -> str | None:
  """Turns on JAX's persistent compilation cache, so that a run (or a resume) of programs an
  earlier run compiled loads them from disk instead of compiling them again: the `stylegan2`
  preset's step takes over a minute to compile on a 2-core CPU (README, StyleGAN2 and ADA).
  MaxText keeps one by default too (`jax_cache_dir` in AI-Hypercomputer/maxtext's
  `MaxText/configs/base.yml`). `choice`: a folder, 'none',
  or None for JAX's own setting (`JAX_COMPILATION_CACHE_DIR`) when there is one, else
  `DEFAULT_COMPILE_CACHE` (quietly off when that cannot be written). The cache is bounded by
  `COMPILE_CACHE_LIMIT` unless JAX's `jax_compilation_cache_max_size` says otherwise; programs
  that compile in under a second are not kept (JAX's default). A loaded program is the one a
  compilation would give, so results do not depend on the cache. Returns why an explicit
  `choice` cannot be used, or None."""
  import jax
  if choice is None and jax.config.jax_compilation_cache_dir:
    return None
  if choice is not None and choice.lower() == 'none':
    jax.config.update('jax_enable_compilation_cache', False)
    return None
  folder = Path(choice or DEFAULT_COMPILE_CACHE).expanduser()
  if problem := writable_problem(folder, '--compile-cache'):
    return None if choice is None else problem
  if str(folder) != jax.config.jax_compilation_cache_dir:
    jax.config.update('jax_compilation_cache_dir', str(folder))
  if jax.config.jax_compilation_cache_max_size == -1:
    jax.config.update('jax_compilation_cache_max_size', COMPILE_CACHE_LIMIT)
  return None


def writable_problem(folder: Path, name: str = 'workdir') -> str | None:
  """Why `folder` cannot be written, or None."""
  try:
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f'.write_test.{os.getpid()}'  # every process of a multi-host run probes
    probe.write_text('')
    probe.unlink()
  except OSError as error:
    return f'cannot write to {name} {str(folder)!r}: {error.strerror or error}'
  return None


def exit_at_once(code: int) -> None:
  """Ends the process now, skipping the interpreter's shutdown: after a disk fills up, what
  would run there can only fail on it too, each with a screen of tracebacks after the one-line
  message. Orbax's threads for the arrays of the failed save go on writing, and Python shuts
  its executors down under them; TensorBoard's exit hook flushes events no disk can take. What
  was written stays: metrics.jsonl is flushed at every record, a checkpoint is complete or a
  temporary directory that Orbax never restores, and the operating system drops the workdir's
  lock."""
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)


FAMILIES_VARIABLE = 'JAXGAN_FAMILIES'
FAMILIES_ENTRY_POINTS = 'jaxgan.families'


def load_family_plugins(prog: str) -> None:
  """Imports the families of one's own, each module registering its family
  (`jaxgan.families.register`): those $JAXGAN_FAMILIES names (module names or .py files,
  comma-separated) and the `jaxgan.families` entry points of installed packages. One that cannot
  be imported is one line, exit 2."""
  named = [name.strip() for name in os.environ.get(FAMILIES_VARIABLE, '').split(',')
           if name.strip()]
  plugins = [(name, lambda name=name: _import_family(name)) for name in named] + [
      (entry.value, entry.load)
      for entry in importlib.metadata.entry_points(group=FAMILIES_ENTRY_POINTS)]
  for name, load in plugins:
    try:
      load()
    except Exception as error:  # the plug-in's own code: whatever it raises is its failure
      print(f'{prog}: error: cannot load the family module {name!r} ({FAMILIES_VARIABLE} or '
            f'an entry point): {type(error).__name__}: {error}', file=sys.stderr)
      sys.exit(2)


def _import_family(name: str) -> None:
  if not name.endswith('.py'):
    importlib.import_module(name)
    return
  path = Path(name).expanduser().resolve()
  if not path.is_file():
    raise FileNotFoundError(f'no file {str(path)!r}')
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[path.stem] = module
  spec.loader.exec_module(module)
