# Copyright (c) mmmim contributors. All rights reserved.
"""The model zoo: metafiles, model-index.yml and the configs agree.

Every config under ``configs/`` is *released* and needs an entry in some
``configs/<dir>/metafile.yml``, except

* files under a ``_base_/`` folder (fragments, not runnable models);
* demo configs: one ``_``-separated field of the name has ``demo`` as a
  ``-``-separated word (``mae_vit-tiny-p8_1xb32-coslr-demo.py``,
  ``vit-tiny-p8_1xb4-coslr-demo_video.py``; CPU runs on ``data/demo``);
* Fashion-MNIST configs, whose last field (the dataset) starts with
  ``fashion-mnist`` (``*_fashion-mnist.py``; the CPU studies of
  ``tools/analysis_tools/mim_study.py``).

Every metafile entry must point at a config that loads with
``Config.fromfile``, and ``model-index.yml`` must import every metafile.
"""

from pathlib import Path
from typing import Dict, List

import pytest
import yaml
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
REQUIRED_MODEL_KEYS = ('Name', 'In Collection', 'Metadata', 'Config')
REQUIRED_METADATA = ('Training Data', 'Batch Size', 'FLOPs', 'Parameters')


def is_exempt(path: Path) -> bool:
    """Whether a config needs no metafile entry (see the module doc)."""
    rel = path.relative_to(CONFIGS)
    if '_base_' in rel.parts:
        return True
    fields = path.stem.split('_')
    if any('demo' in field.split('-') for field in fields):
        return True
    return fields[-1].startswith('fashion-mnist')


def metafiles() -> List[Path]:
    return sorted(CONFIGS.glob('*/metafile.yml'))


def load_yaml(path: Path) -> dict:
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def all_models() -> List[dict]:
    models = []
    for path in metafiles():
        for model in load_yaml(path).get('Models') or []:
            models.append(dict(model, _metafile=path))
    return models


def test_model_index_imports_every_metafile():
    index = load_yaml(REPO / 'model-index.yml')
    imported = set(index['Import'])
    expected = {str(p.relative_to(REPO)) for p in metafiles()}
    assert imported == expected, (
        f'model-index.yml must import exactly the metafiles; missing '
        f'{sorted(expected - imported)}, stale {sorted(imported - expected)}'
    )


def test_every_released_config_is_in_a_metafile():
    listed = {m['Config'] for m in all_models() if 'Config' in m}
    configs = [p for p in sorted(CONFIGS.rglob('*.py')) if not is_exempt(p)]
    missing = [
        str(p.relative_to(REPO))
        for p in configs
        if str(p.relative_to(REPO)) not in listed
    ]
    assert not missing, (
        'configs without a metafile entry (add them to '
        "configs/<dir>/metafile.yml; see this module's docstring):\n"
        + '\n'.join(missing)
    )


def test_collections_are_complete():
    for path in metafiles():
        meta = load_yaml(path)
        assert meta.get('Collections'), f'{path}: no Collections'
        for coll in meta['Collections']:
            assert coll.get('Name'), f'{path}: a collection has no Name'
            paper = coll.get('Paper') or {}
            assert paper.get('Title') and paper.get('URL'), (
                f'{path}: collection {coll["Name"]} needs Paper Title/URL'
            )
            readme = coll.get('README')
            assert readme and (REPO / readme).is_file(), (
                f'{path}: collection {coll["Name"]}: README {readme!r} '
                'does not exist'
            )


def test_model_entries_are_complete():
    names: Dict[str, Path] = {}
    for model in all_models():
        path = model['_metafile']
        collections = {
            c['Name'] for c in load_yaml(path).get('Collections') or []
        }
        for key in REQUIRED_MODEL_KEYS:
            assert key in model, f'{path}: {model.get("Name")} lacks {key}'
        name = model['Name']
        assert name not in names, f'{name} in both {names[name]} and {path}'
        names[name] = path
        assert model['In Collection'] in collections, (
            f'{path}: {name}: unknown collection {model["In Collection"]}'
        )
        for key in REQUIRED_METADATA:
            assert key in model['Metadata'], f'{path}: {name} lacks {key}'
        results = model.get('Results')
        for result in results or []:
            assert result.get('Task') and result.get('Dataset'), name
            assert result.get('Metrics'), f'{path}: {name}: empty Metrics'
        for source in (model, model.get('Converted From') or {}):
            url = source.get('Weights')
            assert url is None or url.startswith('https://'), (
                f'{path}: {name}: Weights must be an https URL'
            )
        for downstream in model.get('Downstream') or []:
            assert downstream in {m['Name'] for m in all_models()}, (
                f'{path}: {name}: unknown Downstream {downstream}'
            )


@pytest.mark.parametrize(
    'config',
    sorted({m['Config'] for m in all_models() if 'Config' in m}),
)
def test_metafile_config_loads(config):
    path = REPO / config
    assert path.is_file(), f'{config} does not exist'
    assert config.startswith('configs/'), config
    cfg = Config.fromfile(str(path))
    assert cfg.model.get('type'), f'{config} builds no model'
