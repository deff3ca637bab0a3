# Copyright (c) mmmim contributors. All rights reserved.
"""Write ``model_zoo.md`` from ``model-index.yml`` and the metafiles.

``conf.py`` calls :func:`write_model_zoo` at every build, so the page
always lists what the metafiles hold; the generated file is not tracked.
"""

from pathlib import Path
from typing import List, Optional

import yaml

HEADER = """# Model zoo

Every released config, read from `model-index.yml` and the
`configs/<dir>/metafile.yml` files it imports (this page is generated when
the documentation is built). **Results are the official numbers** of the
original papers and repositories, for the same recipe; a dash means none
was published for exactly that setting. GMAC: multiply-accumulates of one
forward pass of one image at the config's input size
(`tools/analysis_tools/get_flops.py`; FLOPs are twice that). *Official
weights* are the public checkpoints that `tools/model_converters/` turns
into mmmim checkpoints for the config (see [](converters.md)); mmmim does
not host converted weights. How to add configs: see the end of the page.
"""

FOOTER = """## Adding configs

Every config under `configs/` needs an entry in a metafile, except
`_base_/` fragments, demo configs (a name field with the word `demo`, e.g.
`..._1xb32-coslr-demo.py`) and the Fashion-MNIST evaluation configs
(`..._fashion-mnist.py`). `tests/test_configs/test_metafiles.py` checks
both ways. A new config directory `configs/<dir>/` needs:

1. `configs/<dir>/metafile.yml` with one `Collections` entry (`Name`,
   `Paper` with `Title` and `URL`, `README` pointing at an existing file)
   and one `Models` entry per config: a unique `Name`, `In Collection`,
   `Config: configs/<dir>/...py` (it must load with `Config.fromfile`),
   `Metadata` with at least `Training Data`, `Batch Size`, `FLOPs` and
   `Parameters` (plus `Epochs` or `Iterations`), `Results` (a list of
   `Task`, `Dataset`, `Metrics`, or `null`), and optionally
   `Converted From` (`Weights`, `Code`) and `Downstream` (names of other
   entries).
2. A line `- configs/<dir>/metafile.yml` in the root `model-index.yml`.

Configs added to an existing directory, such as
`configs/<algo>/benchmarks/mmdet/`, only need entries in that directory's
metafile.
"""


def _load(path: Path) -> dict:
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f) or {}


def _results(model: dict) -> str:
    parts = []
    for result in model.get('Results') or []:
        for metric, value in (result.get('Metrics') or {}).items():
            parts.append(f'{metric} {value} ({result.get("Dataset")})')
    return '; '.join(parts) or '-'


def _number(value: Optional[float], scale: float) -> str:
    if value is None:
        return '-'
    return f'{value / scale:.2f}'


def _row(model: dict) -> str:
    meta = model.get('Metadata') or {}
    weights = (model.get('Converted From') or {}).get('Weights')
    link = f'[official]({weights})' if weights else '-'
    cells = [
        f'`{model["Name"]}`',
        f'`{model.get("Config", "-")}`',
        str(meta.get('Epochs', meta.get('Iterations', '-'))),
        str(meta.get('Batch Size', '-')),
        _number(meta.get('Parameters'), 1e6),
        _number(meta.get('FLOPs'), 1e9),
        _results(model),
        link,
    ]
    return '| ' + ' | '.join(cells) + ' |'


def _paper_tables(repo_root: Path) -> List[str]:
    """The papers' tables and figures, row by row (a checklist)."""
    path = repo_root / 'configs' / 'paper_tables.yml'
    if not path.exists():
        return []
    lines = [
        '## The papers, table by table',
        '',
        'Every row of the tables and figures of the four papers with the',
        'config that reproduces it, or why there is none',
        '(`configs/paper_tables.yml`).',
        '',
        '| paper | table / figure | row | config or reason |',
        '|---|---|---|---|',
    ]
    for table in _load(path).get('tables') or []:
        for row in table['rows']:
            cell = f'`{row["config"]}`' if 'config' in row else row['reason']
            lines.append(
                f'| {table["paper"]} | {table["table"]} | {row["row"]} '
                f'| {cell} |'
            )
    lines.append('')
    return lines


def render(repo_root: Path) -> str:
    """The page as Markdown."""
    index = _load(repo_root / 'model-index.yml')
    lines: List[str] = [HEADER]
    for meta_path in index.get('Import') or []:
        meta = _load(repo_root / meta_path)
        for coll in meta.get('Collections') or []:
            paper = coll.get('Paper') or {}
            lines += [
                f'## {coll["Name"]}',
                '',
                f'[{paper.get("Title", coll["Name"])}]({paper.get("URL")});'
                f' configs and usage: `{coll.get("README", meta_path)}`.',
                '',
                '| name | config | epochs | batch | params (M) | GMAC '
                '| results | official weights |',
                '|---|---|---|---|---|---|---|---|',
            ]
            for model in meta.get('Models') or []:
                if model.get('In Collection') == coll['Name']:
                    lines.append(_row(model))
            lines.append('')
    lines += _paper_tables(repo_root)
    lines.append(FOOTER)
    return '\n'.join(lines)


def write_model_zoo(repo_root: Path, out_file: Path) -> None:
    """Write the page if its content changed (keeps incremental builds)."""
    text = render(repo_root)
    if not out_file.exists() or out_file.read_text() != text:
        out_file.write_text(text)
