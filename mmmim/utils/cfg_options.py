# Copyright (c) mmmim contributors. All rights reserved.
"""``--cfg-options`` parsing that accepts ``dict(...)`` values.

mmengine's :class:`~mmengine.config.DictAction` splits a value at the
commas outside brackets, and a value such as ``dict(a=1,b=2)`` (or
``f(x,y)``) has a comma inside brackets that do not enclose the whole
value: no split makes progress, and the parser recurses on the same string
until Python raises a ``RecursionError``. :class:`CfgOptionsAction`
evaluates ``dict(...)`` values as literals (nested dicts, lists, tuples,
numbers, strings, bare words as strings) and answers any other value that
mmengine cannot split with an error showing the accepted syntax.
"""

import argparse
import ast
from typing import Any, Optional, Sequence

from mmengine.config import DictAction

__all__ = ['CfgOptionsAction', 'SYNTAX', 'parse_dict_value']

#: Shown when a value cannot be parsed.
SYNTAX = (
    'accepted: key=value (numbers, True/False/None, strings), '
    'key=a,b or key="[a,b]" or key="[(a,b),(c,d)]" for lists and tuples, '
    "key=\"dict(type='Pretrained',checkpoint='x.pth')\" for a dict, or "
    'one dotted key per field: key.type=Pretrained key.checkpoint=x.pth'
)


def _literal(node: ast.AST, text: str) -> Any:
    """The value of an expression built from literals and ``dict()``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):  # bare words are strings, as mmengine's
        return node.id
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item, text) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _literal(k, text): _literal(v, text)
            for k, v in zip(node.keys, node.values)
        }
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
        and all(kw.arg is not None for kw in node.keywords)
    ):
        return {kw.arg: _literal(kw.value, text) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(
        node.op, (ast.USub, ast.UAdd)
    ):
        value = _literal(node.operand, text)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f'{ast.unparse(node)!r} in {text!r} is not a literal')


def parse_dict_value(text: str) -> dict:
    """Evaluate a ``dict(...)`` value without running code.

    Args:
        text (str): E.g. ``dict(type='Pretrained',checkpoint='x.pth')``.

    Returns:
        dict: The value.

    Raises:
        ValueError: If ``text`` is not a dict of literals.
    """
    try:
        tree = ast.parse(text.strip(), mode='eval')
    except SyntaxError as error:
        raise ValueError(f'{text!r} is not valid: {error.msg}') from None
    value = _literal(tree.body, text)
    if not isinstance(value, dict):
        raise ValueError(f'{text!r} is not a dict')
    return value


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction``, plus ``dict(...)`` values and an error
    that shows the accepted syntax instead of a ``RecursionError``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Optional[Sequence[str]],
        option_string: Optional[str] = None,
    ) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            if '=' not in item:
                parser.error(
                    f'{option_string} {item!r}: no "=" in it; {SYNTAX}'
                )
            key, value = item.split('=', maxsplit=1)
            try:
                options[key] = self._parse_value(value)
            except ValueError as error:
                parser.error(f'{option_string} {item!r}: {error}; {SYNTAX}')
        setattr(namespace, self.dest, options)

    @classmethod
    def _parse_value(cls, value: str) -> Any:
        stripped = value.strip('\'"').replace(' ', '')
        if stripped.startswith(('dict(', '{')):
            return parse_dict_value(value.strip('\'"'))
        try:
            return cls._parse_iterable(value)
        except (RecursionError, AssertionError):
            # mmengine recurses forever on a comma inside brackets that do
            # not enclose the whole value (``f(a,b)``) and asserts on
            # unbalanced ones; both mean the value has no accepted form.
            raise ValueError(
                'brackets that do not enclose the whole value, or '
                'unbalanced brackets'
            ) from None
