"""Where jaxgan's train step spends its time, op by op.

  python benchmarks/profile_step.py [--case dcgan32:32[@STAGE]] [--dtype bfloat16] [--steps 5]
      [--top 12] [--out FILE.json]

Compiles the step as `throughput.py` times it (`frameworks/jaxgan_step.py`), runs it `--steps`
times under `jax.profiler` with XLA:CPU's per-op trace events on, and adds up each compiled
(HLO) op's time per step. Each op is put in a kind by what its HLO does: a matrix product (XLA's
or a library's), a dtype conversion, a copy or transpose, padding, a concatenation (the im2col
patches), a reduction, or other elementwise work; and in a layer by its metadata (the Flax
module its `op_name` names, forward or backward). The tables show the time of each kind, of each
layer, and the slowest ops, next to the step's wall time: what is not a product is the glue.
Products that XLA:CPU runs on Eigen's threads (a `dot` outside a library fusion) report only
their launch: their time shows in the ops that run beside them. The step is also timed without
the profiler, to show what tracing adds. On GPU and TPU the trace names kernels, not HLO ops, and
this script reports little; use the backend's own profiler there.
"""

import argparse
import collections
import gzip
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import jax

from throughput import case_spec, parse_case
from timing import compile_and_warm_up, step_times
from worker import real_batch

sys.path.insert(0, str(Path(__file__).parent / 'frameworks'))
from jaxgan_step import compiled_step  # noqa: E402

INSTRUCTION = re.compile(r'^\s*(?:ROOT )?%?(?P<name>[\w.\-]+) = (?P<shape>\([^=]*?\)|\S+) '
                         r'(?P<opcode>[\w\-]+)\((?P<rest>.*)$')
COMPUTATION = re.compile(r'^(?:ENTRY )?%?(?P<name>[\w.\-]+) .*\{$')
PLUMBING = {'parameter', 'constant', 'bitcast', 'tuple', 'get-tuple-element'}
# A product XLA hands to a library: a fusion of kind __ynn_fusion (YNNPACK, XLA:CPU's default),
# __xnn_fusion or __onednn_fusion, or a custom call (oneDNN, cuBLAS, cuDNN).
LIBRARY = re.compile(r'"kind":"__\w+_fusion"|custom_call_target="(__onednn|__cublas|__cudnn)')


def parse_hlo(text: str):
  """(instructions by name: opcode, shape, called computation, op_name; the opcodes in each
  computation, with those of the computations it calls)."""
  instructions, opcodes, callees = {}, collections.defaultdict(set), collections.defaultdict(set)
  computation = None
  for line in text.splitlines():
    header = COMPUTATION.match(line)
    if header and ' = ' not in line.split('{')[0]:
      computation = header['name']
      continue
    match = INSTRUCTION.match(line)
    if not match:
      continue
    calls = re.search(r'calls=%?([\w.\-]+)', match['rest'])
    op_name = re.search(r'op_name="([^"]*)"', match['rest'])
    instructions[match['name']] = {
        'opcode': match['opcode'], 'shape': match['shape'], 'line': line,
        'calls': calls and calls[1], 'op_name': op_name[1] if op_name else ''}
    opcodes[computation].add(match['opcode'])
    if calls:
      callees[computation].add(calls[1])

  def everything_in(computation, seen=()):
    return opcodes[computation].union(*(everything_in(callee, (*seen, computation))
                                        for callee in callees[computation] if callee not in seen))

  return instructions, {computation: everything_in(computation) for computation in opcodes}


def kind_of(instruction, opcodes) -> str:
  """What an op of the compiled step does, from its HLO (a fusion: from the ops it fuses)."""
  inside = {instruction['opcode']} | opcodes.get(instruction['calls'], set())
  inside -= PLUMBING | {'fusion'}
  if inside & {'dot', 'convolution'}:
    return 'product (library)' if LIBRARY.search(instruction['line']) else 'product (XLA)'
  if 'convert' in inside and inside <= {'convert', 'reshape', 'broadcast', 'copy', 'transpose'}:
    return 'convert'
  if 'concatenate' in inside:
    return 'concatenate'
  if 'pad' in inside:
    return 'pad'
  if inside <= {'copy', 'transpose', 'reshape', 'slice', 'dynamic-slice',
                'dynamic-update-slice'}:
    return 'copy/transpose/slice'
  if inside & {'reduce', 'reduce-window'}:
    return 'reduce'
  return 'elementwise'


def layer_of(op_name: str) -> str:
  """'G/Dense_0 fwd'-like: the network and Flax module an op comes from, and the pass."""
  parts = op_name.split('/')
  for i, part in enumerate(parts):
    net = re.search(r'\b(Generator|Discriminator)\b', part)
    if net:
      modules = [p for p in parts[i + 1:] if re.fullmatch(r'[A-Z]\w*_\d+', p)]
      passes = 'bwd' if 'transpose(' in op_name else 'fwd'
      return f"{net[1][0]}/{modules[0] if modules else '-'} {passes}"
  return 'optimizer and rest'


def profile(spec: dict, steps: int):
  """(microseconds per step by HLO op name, wall milliseconds per step traced and untraced, the
  compiled HLO)."""
  compiled, state, batch, _ = compiled_step(spec, real_batch(spec))
  state, _ = compile_and_warm_up(compiled, state, batch)  # compiled already: two warm-up steps
  state, times = step_times(compiled, state, batch, steps)
  untraced_ms = sum(times) * 1e3 / steps
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
      state, times = step_times(compiled, state, batch, steps)
      wall_ms = sum(times) * 1e3 / steps
    trace = next(Path(trace_dir).rglob('*.trace.json.gz'))
    events = json.load(gzip.open(trace))['traceEvents']
  per_op = collections.Counter()
  for event in events:
    op = event.get('args', {}).get('hlo_op')
    if event.get('ph') == 'X' and op and not event['name'].startswith('end:'):
      per_op[op] += event['dur'] / steps
  return per_op, wall_ms, untraced_ms, compiled.as_text()


def table(title, rows, total_us):
  print(f'\n| {title} | ms/step | share |\n| --- | --- | --- |')
  for name, us in rows:
    print(f'| {name} | {us / 1e3:.1f} | {100 * us / total_us:.0f}% |')


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--case', default='dcgan32:32',
                      help="PRESET:BATCH[@STAGE], as throughput.py's --cases")
  parser.add_argument('--dtype', default='float32', choices=('float32', 'bfloat16'))
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--top', type=int, default=12, help='slowest ops listed')
  parser.add_argument('--out', metavar='FILE.json')
  args = parser.parse_args()
  # XLA:CPU writes one trace event per op only with this flag, read when the backend starts.
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '')
                             + ' --xla_cpu_enable_xprof_traceme=true').strip()
  try:
    preset, batch_size, stage = parse_case(args.case)
  except ValueError:
    parser.error(f'--case wants PRESET:BATCH[@STAGE], got {args.case!r}')
  _, spec = case_spec(preset, batch_size, args.dtype, stage)
  per_op, wall_ms, untraced_ms, hlo = profile(spec, args.steps)
  instructions, opcodes = parse_hlo(hlo)
  unknown = {'opcode': '?', 'shape': '?', 'calls': None, 'op_name': '', 'line': ''}
  by_kind, by_layer, ops = collections.Counter(), collections.Counter(), []
  for op, us in per_op.items():
    instruction = instructions.get(op, unknown)
    kind, layer = kind_of(instruction, opcodes), layer_of(instruction['op_name'])
    by_kind[kind] += us
    by_layer[layer] += us
    ops.append({'op': op, 'us': us, 'kind': kind, 'layer': layer, 'shape': instruction['shape']})
  total = sum(per_op.values())
  print(f"{args.case} {args.dtype} on {jax.devices()[0].device_kind}: {wall_ms:.1f} ms a step "
        f"(wall; {untraced_ms:.1f} untraced), {total / 1e3:.1f} ms of ops ({len(per_op)} ops), "
        f"{args.steps} steps")
  table('kind', by_kind.most_common(), total)
  table('layer', by_layer.most_common(), total)
  print('\n| op | kind | layer | shape | ms/step |\n| --- | --- | --- | --- | --- |')
  for row in sorted(ops, key=lambda row: -row['us'])[:args.top]:
    print(f"| {row['op']} | {row['kind']} | {row['layer']} | `{row['shape']}` | "
          f"{row['us'] / 1e3:.2f} |")
  if args.out:
    Path(args.out).write_text(json.dumps(
        {'case': args.case, 'dtype': args.dtype, 'wall_ms': wall_ms, 'untraced_ms': untraced_ms,
         'ops': ops,
         'versions': f'jax {jax.__version__}'}, indent=1))


if __name__ == '__main__':
  main()
