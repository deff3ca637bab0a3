# Copyright (c) mmmim contributors. All rights reserved.
"""``tests/data/parity/MANIFEST.sha256`` pins the parity references.

The references are outputs of the official code; a silently regenerated or
edited file would let a wrong model pass. Every file of the folder must be
listed with its SHA-256 and nothing else may be there. After regenerating
with ``tools/analysis_tools/make_*_parity_refs.py``, update it with::

    cd tests/data/parity && sha256sum *.pth > MANIFEST.sha256
"""

import hashlib
from pathlib import Path
from typing import Dict

import pytest

PARITY = Path(__file__).resolve().parents[2] / 'data' / 'parity'
MANIFEST = PARITY / 'MANIFEST.sha256'


def read_manifest(path: Path) -> Dict[str, str]:
    """``sha256sum`` lines (``<hex>  <name>``) -> {name: hex}."""
    entries = {}
    for line in path.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        name = name.lstrip('*')  # sha256sum's binary-mode marker
        assert name not in entries, f'{name} listed twice'
        assert len(digest) == 64, line
        entries[name] = digest
    return entries


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_folder(folder: Path, manifest: Path) -> None:
    """Every file listed, hashes equal, no extra or missing file."""
    listed = read_manifest(manifest)
    present = {
        p.name for p in folder.iterdir() if p.is_file() and p != manifest
    }
    assert present == set(listed), (
        f'not listed: {sorted(present - set(listed))}, '
        f'missing: {sorted(set(listed) - present)}'
    )
    for name, digest in listed.items():
        assert sha256(folder / name) == digest, f'{name} changed'


def test_parity_references_match_the_manifest():
    assert len(read_manifest(MANIFEST)) >= 15
    check_folder(PARITY, MANIFEST)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / 'parity'
    folder.mkdir()
    for path in PARITY.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.mark.parametrize('change', ['edit', 'extra', 'remove'])
def test_manifest_check_catches_changes(tmp_path, change):
    """Negative controls: one flipped byte, an unlisted file, a missing
    file."""
    folder = _copy(tmp_path)
    target = folder / 'mae_finetune.pth'
    if change == 'edit':
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 1
        target.write_bytes(bytes(data))
    elif change == 'extra':
        (folder / 'stray.pth').write_bytes(b'')
    else:
        target.unlink()
    with pytest.raises(AssertionError):
        check_folder(folder, folder / 'MANIFEST.sha256')
