# Copyright (c) mmmim contributors. All rights reserved.
"""``list_models``, ``get_model``/``init_model`` and checkpoint formats."""

from pathlib import Path

import pytest
import torch
import yaml

from mmmim.apis import (
    detect_format,
    get_model,
    init_model,
    list_models,
    model_info,
)

from .official_mae import official_mae_state_dict, save_official_mae

REPO = Path(__file__).resolve().parents[2]
DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'


def metafile_names():
    names = []
    for metafile in sorted((REPO / 'configs').glob('*/metafile.yml')):
        names += [
            m['Name'] for m in yaml.safe_load(metafile.read_text())['Models']
        ]
    return sorted(names)


def test_list_models_reads_every_metafile():
    assert list_models() == metafile_names()
    base = list_models('mae_vit-base*')
    assert base and all(n.startswith('mae_vit-base') for n in base)
    # Without wildcards a pattern matches names that contain it.
    assert list_models('videomae') == [
        n for n in metafile_names() if 'videomae' in n
    ]
    assert list_models('no-such-model') == []


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match='Did you mean: mae_vit-base-p16'):
        get_model('mae_vit-bsae-p16_8xb512-amp-coslr-1600e_in1k')
    with pytest.raises(FileNotFoundError, match='config'):
        get_model('configs/mae/no_such_config.py')


def test_get_model_by_zoo_name_builds_its_config():
    name = 'mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k'
    with pytest.raises(ValueError, match='model.neck.embed_dims is 768'):
        get_model(name, **{'model.backbone.arch': 's'})
    model = get_model(
        name, **{'model.backbone.arch': 's', 'model.neck.embed_dims': 384}
    )
    assert model_info(name)['Config'].endswith(f'{name}.py')
    assert type(model).__name__ == 'MAE'
    assert model.backbone.embed_dims == 384  # the override applied
    assert not model.training
    assert model.checkpoint_report is None


def test_mmmim_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    source = init_model(DEMO)
    path = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {}}, path)
    torch.manual_seed(2)
    model = init_model(DEMO, str(path))
    assert model.checkpoint_report['format'] == 'mmmim'
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_encoder_only_official_file_warns_about_the_decoder(tmp_path):
    weights = official_mae_state_dict()
    encoder = {
        k: v
        for k, v in weights.items()
        if 'decoder' not in k and k != 'mask_token'
    }
    path = tmp_path / 'mae_pretrain_demo.pth'
    torch.save({'model': encoder}, path)
    model = get_model(DEMO, pretrained=str(path))
    report = model.checkpoint_report
    assert report['format'] == 'mae'
    assert report['missing'] and all(
        k.startswith('neck.') for k in report['missing']
    )
    assert torch.equal(
        model.backbone.patch_embed.proj.weight,
        weights['patch_embed.proj.weight'],
    )


def test_wrong_checkpoints_are_refused(tmp_path):
    convmae = tmp_path / 'convmae.pth'
    torch.save(
        {
            'model': {
                'patch_embed1.proj.weight': torch.zeros(1),
                'blocks1.0.conv1.weight': torch.zeros(1),
            }
        },
        convmae,
    )
    with pytest.raises(ValueError, match='looks like a ConvMAE checkpoint'):
        get_model(DEMO, pretrained=str(convmae))

    unknown = tmp_path / 'resnet.pth'
    torch.save(
        {'conv1.weight': torch.zeros(1), 'fc.bias': torch.zeros(1)}, unknown
    )
    with pytest.raises(
        ValueError,
        match=r'no known format: found 2 keys '
        r'\(conv1.weight, fc.bias\)',
    ):
        get_model(DEMO, pretrained=str(unknown))

    # A larger official model: shapes that do not fit, named as such.
    big = tmp_path / 'mae_big.pth'
    save_official_mae(str(big), embed=256, mlp=1024)
    with pytest.raises(RuntimeError, match='does not fit this MAE'):
        get_model(DEMO, pretrained=str(big))

    # An mmmim checkpoint of another model: the backbone is not loaded.
    partial = tmp_path / 'neck_only.pth'
    neck = {
        k: v
        for k, v in init_model(DEMO).state_dict().items()
        if k.startswith('neck.')
    }
    torch.save({'state_dict': neck}, partial)
    with pytest.raises(ValueError, match='the backbone misses'):
        get_model(DEMO, pretrained=str(partial))

    with pytest.raises(FileNotFoundError, match='does not exist'):
        get_model(DEMO, pretrained=str(tmp_path / 'missing.pth'))


def test_detect_format():
    assert detect_format({'backbone.x': 0, 'neck.y': 0}) == 'mmmim'
    assert detect_format(official_mae_state_dict()) == 'official'
    assert detect_format({'conv1.weight': 0}) == 'unknown'
    assert detect_format({}) == 'unknown'
