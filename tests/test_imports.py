"""jaxgan's modules in layers that import only downward, with no import circle.

The graph is read from the source (`ast`), every import counted, those inside functions too: an
import moved into a function to dodge a circle is still a circle. `from PACKAGE import NAME`
counts as an import of the module PACKAGE.NAME when there is one, else of PACKAGE itself.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / 'jaxgan'

# Top to bottom. A module belongs to the layer of its longest listed prefix; `__main__` modules
# (the `python -m` forms) are commands. The package's own names (`jaxgan/__init__.py`) sit
# above everything: nothing inside the package may import them.
LAYERS = {
    'front': ('jaxgan',),
    'commands': ('jaxgan.commands',),
    'loop and tools': ('jaxgan.train', 'jaxgan.sample', 'jaxgan.translate', 'jaxgan.convert'),
    'families': ('jaxgan.families', 'jaxgan.configs'),
    'games and pieces': ('jaxgan.games', 'jaxgan.losses', 'jaxgan.regularizers', 'jaxgan.augment',
                         'jaxgan.ada', 'jaxgan.optim', 'jaxgan.step', 'jaxgan.state'),
    'networks': ('jaxgan.nets', 'jaxgan.summary'),
    'evaluation': ('jaxgan.evaluate',),
    'edges': ('jaxgan.data', 'jaxgan.mixtures', 'jaxgan.checkpoint', 'jaxgan.files',
              'jaxgan.images', 'jaxgan.logbook', 'jaxgan.parallel', 'jaxgan.generation',
              'jaxgan.config'),
}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
  """{dotted module name: its file} of every module in `package`."""
  modules = {}
  for path in package.rglob('*.py'):
    parts = path.relative_to(package.parent).with_suffix('').parts
    modules['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
  return modules


def imports_of(name: str, path: Path, modules: dict) -> dict[str, int]:
  """{module of the package `name` imports: the line of its first import}."""
  package = name if path.name == '__init__.py' else name.rpartition('.')[0]
  found = {}
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ''
      if node.level:
        parent = package.split('.')[:len(package.split('.')) - node.level + 1]
        base = '.'.join(parent + ([base] if base else []))
      targets = [f'{base}.{alias.name}' if f'{base}.{alias.name}' in modules else base
                 for alias in node.names]
    else:
      continue
    for target in targets:
      while target and target not in modules:  # `import jaxgan.nets.layers as x`: the module
        target = target.rpartition('.')[0]
      if target and target != name:
        found.setdefault(target, node.lineno)
  return found


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, int]]:
  modules = module_files(package)
  return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(name: str) -> int:
  """The index of `name`'s layer in `LAYERS` (0: the top); `KeyError` for a module in none."""
  if name.endswith('.__main__'):
    return list(LAYERS).index('commands')
  matches = [(len(prefix), index) for index, prefixes in enumerate(LAYERS.values())
             for prefix in prefixes if name == prefix or name.startswith(prefix + '.')
             and prefix != 'jaxgan']
  if not matches:
    raise KeyError(name)
  return max(matches)[1]


def cycles(graph: dict[str, dict]) -> list[list[str]]:
  """Every strongly connected set of more than one module (Tarjan's algorithm), each sorted."""
  index, low, on_stack, stack, found = {}, {}, set(), [], []

  def visit(node):
    index[node] = low[node] = len(index)
    stack.append(node)
    on_stack.add(node)
    for target in graph.get(node, {}):
      if target not in index:
        visit(target)
        low[node] = min(low[node], low[target])
      elif target in on_stack:
        low[node] = min(low[node], index[target])
    if low[node] == index[node]:
      component = []
      while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
          break
      if len(component) > 1:
        found.append(sorted(component))

  for node in sorted(graph):
    if node not in index:
      visit(node)
  return found


def test_no_import_circle():
  graph = import_graph()
  assert len(graph) > 50  # the whole package was read
  assert cycles(graph) == []


def test_every_module_has_a_layer():
  unplaced = [name for name in import_graph() if _layer_or_none(name) is None]
  assert unplaced == [], f'add these to LAYERS: {unplaced}'


def test_layers_import_only_downward():
  upward = [f'{name} ({list(LAYERS)[layer_of(name)]}) imports {target} '
            f'({list(LAYERS)[layer_of(target)]}), line {line}'
            for name, targets in sorted(import_graph().items()) for target, line in targets.items()
            if layer_of(target) < layer_of(name)]
  assert upward == []


def test_library_modules_parse_no_arguments_and_import_no_command():
  """`main`, argparse and the commands live in jaxgan/commands/ alone (a `__main__.py` only
  calls its command's `main`)."""
  found = []
  for name, path in module_files().items():
    if name.startswith('jaxgan.commands'):
      continue
    tree = ast.parse(path.read_text())
    commands = [target for target in imports_of(name, path, module_files())
                if target.startswith('jaxgan.commands')]
    if name.endswith('.__main__'):
      body = [node for node in tree.body if not isinstance(node, ast.Expr)]  # the docstring
      assert len(commands) == 1 and len(body) <= 3, f'{name}: more than a call of its command'
      continue
    found += [f'{name} imports {target}' for target in commands]
    found += [f'{name} defines main' for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name == 'main']
    found += [f'{name} imports argparse' for node in ast.walk(tree)
              if isinstance(node, ast.Import | ast.ImportFrom) and 'argparse' in (
                  [alias.name for alias in node.names] if isinstance(node, ast.Import)
                  else [node.module])]
  assert found == []


def test_the_graph_sees_imports_inside_functions(tmp_path):
  """The reader itself: a circle closed by an import inside a function, in a package of two
  modules, is found."""
  package = tmp_path / 'jaxgan'
  package.mkdir()
  (package / '__init__.py').write_text('')
  (package / 'low.py').write_text('def f():\n  from jaxgan import high\n')
  (package / 'high.py').write_text('from jaxgan.low import f\n')
  assert cycles(import_graph(package)) == [['jaxgan.high', 'jaxgan.low']]


def _layer_or_none(name: str) -> int | None:
  try:
    return layer_of(name)
  except KeyError:
    return None
