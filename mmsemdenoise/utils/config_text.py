"""Read values out of a config's text without running it.

mmengine writes the run's config into every checkpoint, as Python text (``meta['cfg']``, the
config's ``pretty_text``). ``mmengine.Config.fromstring`` would *execute* that text (a ``.py``
config is run to be read), so a checkpoint loaded with ``torch.load(weights_only=True)`` could
still run code through it. :func:`model_settings` instead parses the text with :mod:`ast` and
evaluates literals and ``dict(key=literal, ...)`` calls only: anything else is refused.
"""
import ast
from typing import Any, Dict, Sequence


def literal(node: ast.AST) -> Any:
    """The value of a literal expression, ``dict(k=v, ...)`` calls included.

    Raises:
        ValueError: For anything else (a name, an operation, another call): nothing is run.
    """
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args
                and all(kw.arg is not None for kw in node.keywords)):
            raise ValueError(f'not a literal: {ast.unparse(node)[:80]}')
        return {kw.arg: literal(kw.value) for kw in node.keywords}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise ValueError(f'not a literal: {ast.unparse(node)[:80]}')
        return {literal(key): literal(value) for key, value in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def model_settings(text: str, keys: Sequence[str]) -> Dict[str, Any]:
    """The values of ``keys`` in the ``model = dict(...)`` assignment of a config's text.

    Only the named keys are evaluated (each must be a literal, see :func:`literal`); the rest of
    the text is parsed, never run.

    Args:
        text (str): Python config text, e.g. a checkpoint's ``meta['cfg']``.
        keys (Sequence[str]): Keys of ``model`` to read, e.g. ``('denoiser',)``.

    Returns:
        dict: ``{key: value}`` for the keys ``model`` has (empty if there is no ``model``).

    Raises:
        SyntaxError: If the text is not Python.
        ValueError: If a named key's value is not a literal.

    Example:
        >>> model_settings("model = dict(type='X', denoiser=dict(type='DnCNN'))", ['denoiser'])
        {'denoiser': {'type': 'DnCNN'}}
    """
    for node in ast.parse(text).body:
        if not (isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == 'model' for t in node.targets)):
            continue
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id == 'dict':
            entries = {kw.arg: kw.value for kw in value.keywords if kw.arg is not None}
        elif isinstance(value, ast.Dict):
            entries = {k.value: v for k, v in zip(value.keys, value.values)
                       if isinstance(k, ast.Constant)}
        else:
            return {}
        return {key: literal(entries[key]) for key in keys if key in entries}
    return {}
