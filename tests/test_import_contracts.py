"""The package's import contracts: its layers import only downward (import-linter's contracts in
``.importlinter``, also run by ``.ci/run``), and no module imports another module's private name
(import-linter sees modules, not names, so this file checks names itself)."""
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

#: Where our code lives: the package and the scripts above it.
SOURCES = ('mmsemdenoise', 'tools', 'benchmarks')


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def private_imports(source: str, module: str) -> List[str]:
    """``'line: name from module'`` for every private name of ``mmsemdenoise`` that ``source``
    (the text of ``module``, dotted, e.g. ``mmsemdenoise.analysis.robustness_report``) imports
    or reads as an attribute of an imported module of ours."""
    found = []
    package = module.split('.')[:-1]  # of `a/b/c.py` and of `a/b/__init__.py`: ['a', 'b']
    modules = set()  # local names bound to modules of ours by `import mmsemdenoise.x [as y]`
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing module's package
                base = package[:len(package) - node.level + 1]
                origin = '.'.join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ''
            if origin.split('.')[0] == 'mmsemdenoise':
                found += [f'{node.lineno}: {a.name} from {origin}' for a in node.names
                          if _private(a.name)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] == 'mmsemdenoise':
                    modules.add(alias.asname or 'mmsemdenoise')
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(f'{node.lineno}: {node.attr} of {ast.unparse(node.value)}')
    return found


def test_private_imports_finds_names_of_other_modules():
    source = ('from .sweep_report import _fmt, metric_columns\n'
              'import mmsemdenoise.apis.inference as inference\n'
              'spans = inference._tile_spans\n'
              'from mmsemdenoise.registry import MODELS, __doc__\n')
    assert private_imports(source, 'mmsemdenoise.analysis.robustness_report') == [
        '1: _fmt from mmsemdenoise.analysis.sweep_report',
        '3: _tile_spans of inference']


def test_no_module_imports_a_private_name_of_another(repo_root: Path):
    found = []
    for folder in SOURCES:
        for path in sorted((repo_root / folder).rglob('*.py')):
            relative = path.relative_to(repo_root)
            if '.mim' in relative.parts:
                continue
            module = '.'.join(relative.with_suffix('').parts)
            found += [f'{relative}:{hit}' for hit in private_imports(path.read_text(), module)]
    assert not found, ('private names imported across modules (make them public where they '
                       'belong, or move them):\n' + '\n'.join(found))


def test_import_linter_contracts_are_kept(repo_root: Path):
    """The layer order of ``.importlinter``; its contracts fail on any import that runs upward."""
    if importlib.util.find_spec('importlinter') is None:
        pytest.skip('import-linter is not installed (it is in the `tests` extra: '
                    "pip install '.[tests]'); .ci/run checks the contracts with lint-imports")
    code = ('import sys\n'
            'from importlinter.cli import lint_imports\n'
            'sys.exit(lint_imports(no_cache=True, no_logo=True))\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=repo_root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
