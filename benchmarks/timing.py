"""Timing helpers shared by the benchmarks: warm-up excluded, `block_until_ready`, medians."""

import statistics
import time

import jax


def compile_and_warm_up(step, state, batch):
  """Runs the first step (compiling it) and one more; returns (state, compile seconds)."""
  start = time.perf_counter()
  state, _ = jax.block_until_ready(step(state, batch))
  compile_s = time.perf_counter() - start
  state, _ = jax.block_until_ready(step(state, batch))
  return state, compile_s


def step_times(step, state, batch, steps):
  """(state, [seconds of each of `steps` steps]), each step timed to completion."""
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    state, _ = jax.block_until_ready(step(state, batch))
    times.append(time.perf_counter() - start)
  return state, times


def median(times):
  return statistics.median(times)
