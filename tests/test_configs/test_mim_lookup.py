# Copyright (c) mmmim contributors. All rights reserved.
"""Installed configs: ``mmmim/.mim`` and ``mmmim::`` config paths.

``pip install`` (copies) and ``pip install -e .`` (links) put ``configs``,
``tools`` and ``model-index.yml`` under ``mmmim/.mim``; mmengine resolves
``mmmim::<dir>/<file>.py`` through them once mmmim is imported.
"""

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.hub import get_config

import mmmim

PACKAGE_DIR = Path(mmmim.__file__).resolve().parent
MIM_DIR = PACKAGE_DIR / '.mim'
REPO = Path(__file__).resolve().parents[2]
MAE_B = 'mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'


@pytest.fixture(scope='module', autouse=True)
def installed():
    for name in ('configs', 'tools', 'model-index.yml'):
        assert (MIM_DIR / name).exists(), (
            f'mmmim/.mim/{name} is missing: reinstall with '
            '`pip install -e .` (or `make install`)'
        )


def test_mim_folder_holds_the_tools_and_configs():
    assert (MIM_DIR / 'tools' / 'train.py').is_file()
    assert (MIM_DIR / 'tools' / 'analysis_tools' / 'get_flops.py').is_file()
    assert (MIM_DIR / 'configs' / MAE_B).is_file()
    index = (MIM_DIR / 'model-index.yml').read_text()
    assert 'configs/mae/metafile.yml' in index


def test_hub_get_config_finds_a_metafile_config():
    cfg = get_config(f'mmmim::{MAE_B}')
    assert cfg.model.type == 'MAE'
    assert cfg.model.backbone.arch == 'b'
    assert Path(cfg.filename).name == Path(MAE_B).name
    assert '.mim' in Path(cfg.filename).parts


def test_base_inherits_mmmim_configs(tmp_path):
    """A user's config elsewhere inherits mmmim configs by package path."""
    user_cfg = tmp_path / 'my_mae.py'
    user_cfg.write_text(
        "_base_ = ['mmmim::simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py']\n"
        'train_cfg = dict(max_iters=10)\n'
    )
    cfg = Config.fromfile(str(user_cfg))
    assert cfg.model.type == 'SimMIM'
    assert cfg.train_cfg.max_iters == 10
    # A `_base_/` fragment (no metafile entry) resolves too.
    frag = tmp_path / 'frag.py'
    frag.write_text("_base_ = 'mmmim::_base_/models/mae_vit-base-p16.py'\n")
    assert Config.fromfile(str(frag)).model.neck.decoder_num_layers == 8


def test_other_packages_lookup_unchanged():
    from mmengine.config import config as config_module
    from mmengine.utils import get_installed_path as original

    # mmmim's hook answers only for mmmim: other packages resolve as before.
    path = config_module.get_installed_path('mmpretrain')
    assert path == original('mmpretrain')
    assert Path(path, '.mim', 'configs').is_dir()
