# Copyright (c) mmmim contributors. All rights reserved.
"""The shared machinery of the checkpoint converters.

A converter (``mmmim/utils/converters/<method>.py``) is a table of rename
rules plus the checks and geometry that are specific to its method; this
module loads official checkpoints safely, applies the rules, names the keys
no rule knows, and writes the result atomically. The command lines in
``tools/model_converters/`` are :func:`run_converter` on a converter.
"""

import argparse
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .atomic_io import atomic_output
from .safe_checkpoint import safe_torch_load

#: ``(pattern, replacement)``: a key that ``re.match``-es ``pattern`` has the
#: matched part replaced by ``match.expand(replacement)`` (the rest of the
#: key is kept); a replacement of None drops the key.
Rule = Tuple[str, Optional[str]]


def load_official_checkpoint(path: str, trust: bool = False) -> Dict:
    """Load an official checkpoint without executing pickled code.

    Official checkpoints keep the weights under ``'model'`` (or
    ``'module'``/``'state_dict'``), sometimes next to the training
    ``argparse.Namespace`` (``'args'``) and optimizer state. Only tensors,
    plain containers and ``argparse.Namespace`` are accepted unless
    ``trust`` is set.

    Args:
        path (str): The checkpoint file.
        trust (bool): Allow full unpickling (the file can run code).

    Returns:
        dict: The flat state dict of the model.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist.')
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = safe_torch_load(path, map_location='cpu', trusted=trust)
    return unwrap_state_dict(ckpt, path)


def unwrap_state_dict(ckpt: Any, source: str = 'checkpoint') -> Dict:
    """Return the model weights of a checkpoint dict."""
    if not isinstance(ckpt, dict):
        raise TypeError(
            f'{source} holds a {type(ckpt).__name__}, not a dict of weights.'
        )
    for key in ('model', 'module', 'state_dict'):
        if key in ckpt and isinstance(ckpt[key], dict):
            return dict(ckpt[key])
    if all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return dict(ckpt)
    raise KeyError(
        f'{source} has no weights under "model", "module" or '
        f'"state_dict"; top-level keys: {sorted(ckpt)}'
    )


def rename_keys(
    state_dict: Dict[str, torch.Tensor],
    rules: Sequence[Rule],
    source: str = 'checkpoint',
    hint: str = '',
    transform: Optional[Callable[[str, torch.Tensor], torch.Tensor]] = None,
) -> Dict[str, torch.Tensor]:
    """Apply the first matching :data:`Rule` to every key.

    Args:
        state_dict (dict): Official weights (flat).
        rules (Sequence[Rule]): Ordered ``(pattern, replacement)`` pairs.
        source (str): Name used in error messages.
        hint (str): Appended to the error about unknown keys.
        transform (Callable, optional): ``transform(new_key, value)``
            returns the value to store (e.g. reordered weights).

    Returns:
        dict: The renamed weights (copies), in the order of ``state_dict``.

    Raises:
        KeyError: Naming the keys no rule matches.
    """
    converted, unknown = {}, []
    for key, value in state_dict.items():
        for pattern, replacement in rules:
            match = re.match(pattern, key)
            if match and replacement is not None:
                new_key = match.expand(replacement) + key[match.end() :]
                if transform is not None:
                    value = transform(new_key, value)
                converted[new_key] = value.clone()
            if match:
                break
        else:
            unknown.append(key)
    reject_unknown_keys(unknown, source, hint)
    return converted


def reject_unknown_keys(
    keys: Sequence[str], source: str, hint: str = ''
) -> None:
    """Raise a KeyError that names keys the converter does not know."""
    keys = sorted(keys)
    if keys:
        shown = ', '.join(keys[:10]) + (' ...' if len(keys) > 10 else '')
        raise KeyError(
            f'{source}: {len(keys)} unexpected key(s): {shown}. {hint}'.strip()
        )


def count_blocks(state_dict: Dict, prefix: str) -> int:
    """``1 +`` the largest index ``i`` of the keys ``prefix + 'i.*'``."""
    depth = prefix.count('.')
    return 1 + max(
        (int(k.split('.')[depth]) for k in state_dict if k.startswith(prefix)),
        default=-1,
    )


def check_output_path(src: str, dst: str) -> None:
    """Refuse an output path that is, or would write over, the input.

    Caught before anything is read or written: the same path spelled
    differently (relative/absolute, ``..``, a symlink on either side), a
    hard link to SRC or a case-insensitive file system (the same inode),
    and a DST that is a folder (the rename at the end would fail and leave
    the temporary file behind).

    Args:
        src (str): The input checkpoint.
        dst (str): The output file.

    Raises:
        ValueError: Saying what is wrong with ``dst``.
    """
    if osp.isdir(dst):
        raise ValueError(
            f'DST {dst!r} is a folder: give the output file name, e.g. '
            f'{osp.join(dst, osp.basename(src))!r} (not SRC itself).'
        )
    same = osp.realpath(src) == osp.realpath(dst) or (
        osp.exists(src) and osp.exists(dst) and osp.samefile(src, dst)
    )
    if same:
        raise ValueError(
            f'DST {dst!r} is SRC {src!r} (the same file, through another '
            'path, a link or a case-insensitive file system); converting '
            'would replace the official file: give another output file.'
        )


def save_converted(
    state_dict: Dict[str, torch.Tensor], dst: str, meta: Optional[dict] = None
) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically (tensor-only,
    so it loads with ``weights_only=True``), with the permissions of a
    plain ``open()``."""
    if osp.isdir(dst):
        raise IsADirectoryError(f'{dst!r} is a folder: give a file name.')
    with atomic_output(dst) as f:
        torch.save(dict(state_dict=state_dict, meta=meta or {}), f)


def run_converter(
    converter: Any, doc: str, argv: Optional[List[str]] = None
) -> None:
    """The command line ``SRC DST [--trust]`` of a converter module.

    Args:
        converter (module): Provides ``convert(state_dict, source) ->
            (state_dict, meta)`` and ``summary(state_dict, meta) -> str``
            (printed), optionally ``TRUST_HINT`` (added to the refusal of
            a pickled file).
        doc (str): The script's docstring; its first line describes it.
        argv (list, optional): Arguments. Defaults to ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output file')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='allow full unpickling of SRC (only for files you trust)',
    )
    args = parser.parse_args(argv)
    try:
        check_output_path(args.src, args.dst)
    except ValueError as error:
        parser.error(str(error))
    try:
        state_dict = load_official_checkpoint(args.src, trust=args.trust)
    except pickle.UnpicklingError as error:
        hint = getattr(converter, 'TRUST_HINT', '')
        if not hint:
            raise
        raise pickle.UnpicklingError(f'{error}\n{hint}') from None
    converted, meta = converter.convert(state_dict, args.src)
    meta['converted_from'] = args.src.rsplit('/', 1)[-1]
    save_converted(converted, args.dst, meta)
    summary = converter.summary(converted, meta)
    print(f'Converted {len(converted)} tensors ({summary}) to {args.dst}')
