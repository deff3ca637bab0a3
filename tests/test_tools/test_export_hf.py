# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim <-> Hugging Face transformers (ViTMAE, VideoMAE): loss and
prediction parity under the same mask, logits, bit-identical round trips,
save_pretrained/from_pretrained, command lines, negative controls."""

import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.registry import MODELS

from mmmim.utils import register_all_modules
from mmmim.utils.exports import ExportError, hf_videomae, hf_vitmae
from mmmim.utils.exports.common import model_state_dict

REPO = Path(__file__).resolve().parents[2]
ARCH = dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=256)
TOL = 1e-5


def _tool(name):
    path = REPO / 'tools' / 'model_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(cfg, seed=0):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)
    model.eval()
    return model


def _mae(**backbone):
    return _build(
        dict(
            type='mmmim.MAE',
            backbone=dict(
                type='mmmim.MAEViT',
                arch=ARCH,
                img_size=32,
                patch_size=8,
                **backbone,
            ),
            neck=dict(
                type='mmmim.MAEDecoder',
                num_patches=16,
                patch_size=8,
                embed_dims=64,
                decoder_embed_dims=32,
                decoder_num_layers=2,
                decoder_num_heads=4,
            ),
            head=dict(
                type='mmmim.PixelReconstructionHead',
                patch_size=8,
                norm_pix=True,
            ),
        )
    )


def _videomae():
    return _build(
        dict(
            type='mmmim.VideoMAE',
            backbone=dict(
                type='mmmim.VideoMAEViT',
                arch=ARCH,
                img_size=32,
                num_frames=4,
                patch_size=8,
            ),
            neck=dict(
                type='mmmim.VideoMAEDecoder',
                num_patches=32,
                patch_size=8,
                embed_dims=64,
                decoder_embed_dims=32,
                decoder_num_layers=2,
                decoder_num_heads=4,
            ),
            head=dict(type='mmmim.VideoReconstructionHead', patch_size=8),
        )
    )


def _video_classifier():
    return _build(
        dict(
            type='mmmim.VideoClassifier',
            backbone=dict(
                type='mmmim.VideoMAEViT',
                arch=ARCH,
                img_size=32,
                num_frames=4,
                patch_size=8,
                mask_generator=None,
                out_type='avg_featmap',
                final_norm=False,
            ),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=7,
                in_channels=64,
                # Scoped: an earlier test may leave mmmim the default scope.
                loss=dict(type='mmpretrain.CrossEntropyLoss'),
            ),
        )
    )


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def _random_mask(batch, length, masked, seed=0):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for row in mask:
        row[torch.randperm(length, generator=gen)[:masked]] = True
    return mask


def _assert_round_trip(model, state):
    own = model_state_dict(model)
    assert set(state) == set(own)
    for key, value in own.items():
        assert torch.equal(state[key], value), key
    model.load_state_dict(state, strict=True)


def test_vitmae_config_matches_the_model():
    config = hf_vitmae.vitmae_config(_mae())
    assert config.norm_pix_loss is True and config.layer_norm_eps == 1e-6
    assert config.mask_ratio == 0.75 and config.image_size == 32
    assert config.decoder_intermediate_size == 128


def test_vitmae_loss_and_predictions_match(tmp_path):
    """Same mask (mmmim mask -> HF noise): equal loss and predictions; HF's
    own random order (unsorted kept patches) too; round trip bit-exact;
    from_pretrained of the saved folder gives the same outputs."""
    model = _mae()
    hf = hf_vitmae.export_to_vitmae(model, str(tmp_path / 'hf'))
    x = torch.randn(2, 3, 32, 32)
    mask = _random_mask(2, 16, 12)
    with torch.no_grad():
        ours = model.reconstruct(x, mask)
        theirs = hf(pixel_values=x, noise=hf_vitmae.noise_for_mask(mask))
        assert torch.equal(theirs.mask.bool(), mask)
        assert _rel(ours['pred'], theirs.logits) < TOL
        assert abs(ours['loss'] - theirs.loss) / theirs.loss < TOL
        # HF keeps patches in argsort(noise) order: same result.
        noise = torch.rand(2, 16, generator=torch.Generator().manual_seed(1))
        shuffled = hf(pixel_values=x, noise=noise)
        again = model.reconstruct(x, shuffled.mask.bool())
        assert _rel(again['pred'], shuffled.logits) < TOL
        assert abs(again['loss'] - shuffled.loss) / shuffled.loss < TOL
    state, meta = hf_vitmae.from_hf_state_dict(hf.state_dict())
    assert meta['arch']['num_layers'] == 2
    _assert_round_trip(model, state)
    from transformers import ViTMAEForPreTraining

    reloaded = ViTMAEForPreTraining.from_pretrained(str(tmp_path / 'hf'))
    reloaded.eval()
    with torch.no_grad():
        out = reloaded(pixel_values=x, noise=hf_vitmae.noise_for_mask(mask))
    assert torch.equal(out.logits, theirs.logits)


def test_videomae_pretraining_matches():
    """Same bool_masked_pos: equal loss and masked-cube predictions once
    HF's fixed decoder-norm eps (1e-5) is set to mmmim's 1e-6; within 1e-4
    as exported."""
    model = _videomae()
    hf = hf_videomae.export_to_videomae(model)
    assert not hf.config.use_mean_pooling and hf.config.norm_pix_loss
    video = torch.randn(2, 3, 4, 32, 32)
    mask = _random_mask(2, 32, 28)
    with torch.no_grad():
        ours = model.reconstruct(video, mask)
        pred = ours['pred'][mask].reshape(2, 28, -1)
        theirs = hf(pixel_values=video.transpose(1, 2), bool_masked_pos=mask)
        assert _rel(pred, theirs.logits) < 1e-4  # eps 1e-5 vs 1e-6
        hf.decoder.norm.eps = 1e-6
        exact = hf(pixel_values=video.transpose(1, 2), bool_masked_pos=mask)
    assert _rel(pred, exact.logits) < TOL
    assert abs(ours['loss'] - exact.loss) / exact.loss < TOL
    state, _ = hf_videomae.from_hf_state_dict(hf.state_dict())
    _assert_round_trip(model, state)


def test_videomae_classifier_logits_match(tmp_path):
    model = _video_classifier()
    hf = hf_videomae.export_to_videomae(model, str(tmp_path / 'cls'))
    assert hf.config.use_mean_pooling and hf.config.num_labels == 7
    video = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        ours = model.head(model.extract_feat(video))
        theirs = hf(pixel_values=video.transpose(1, 2)).logits
        assert _rel(ours, theirs) < 1e-4  # HF's fc_norm eps is 1e-5
        hf.fc_norm.eps = 1e-6
        exact = hf(pixel_values=video.transpose(1, 2)).logits
    assert _rel(ours, exact) < TOL
    state, meta = hf_videomae.from_hf_state_dict(hf.state_dict())
    assert meta['arch']['num_classes'] == 7
    _assert_round_trip(model, state)
    from transformers import VideoMAEForVideoClassification

    reloaded = VideoMAEForVideoClassification.from_pretrained(
        str(tmp_path / 'cls')
    )
    assert torch.equal(
        reloaded.classifier.weight, model.head.fc.weight.detach()
    )


def test_unsupported_models_are_refused():
    with pytest.raises(ExportError, match='encoder_mask_token'):
        hf_vitmae.vitmae_config(_mae(encoder_mask_token=True))
    with pytest.raises(ExportError, match='VideoMAE'):
        hf_videomae.videomae_config(_mae())
    with pytest.raises(ExportError, match='not a Hugging Face ViTMAE'):
        hf_vitmae.from_hf_state_dict({'blocks.0.weight': torch.zeros(1)})


def test_broken_rule_fails_parity(monkeypatch):
    """Negative control: swapping the two block norms still loads strictly
    (same shapes) but the predictions differ."""

    def swap(name):
        name = name.replace('layernorm_before', 'tmp')
        return name.replace('layernorm_after', 'layernorm_before').replace(
            'tmp', 'layernorm_after'
        )

    rules = [(p, swap(r)) for p, r in hf_vitmae.TO_HF_RULES]
    monkeypatch.setattr(hf_vitmae, 'TO_HF_RULES', tuple(rules))
    model = _mae()
    with torch.no_grad():
        model.backbone.blocks[0].norm1.weight.mul_(3.0)
    hf = hf_vitmae.export_to_vitmae(model)
    x, mask = torch.randn(1, 3, 32, 32), _random_mask(1, 16, 12)
    with torch.no_grad():
        ours = model.reconstruct(x, mask)['pred']
        theirs = hf(pixel_values=x, noise=hf_vitmae.noise_for_mask(mask))
    assert _rel(ours, theirs.logits) > 1e-3


def test_broken_rule_fails_strict_load(monkeypatch):
    rules = [(r'neck\.decoder_norm\.', 'decoder.norm.')]
    monkeypatch.setattr(
        hf_vitmae, 'TO_HF_RULES', (*rules, *hf_vitmae.TO_HF_RULES)
    )
    with pytest.raises(RuntimeError, match='decoder.norm'):
        hf_vitmae.export_to_vitmae(_mae())


def test_command_lines(tmp_path):
    """mmmim_to_hf.py then hf_to_mmmim.py --config on a config file: the
    same tensors; an existing output folder and SRC == DST are refused."""
    config = tmp_path / 'mae_tiny.py'
    config.write_text(
        'model = dict(type="mmmim.MAE", '
        f'backbone=dict(type="mmmim.MAEViT", arch={ARCH!r}, img_size=32, '
        'patch_size=8), neck=dict(type="mmmim.MAEDecoder", num_patches=16, '
        'patch_size=8, embed_dims=64, decoder_embed_dims=32, '
        'decoder_num_layers=2, decoder_num_heads=4), '
        'head=dict(type="mmmim.PixelReconstructionHead", patch_size=8))\n'
    )
    model = _mae()
    ckpt, out = tmp_path / 'mae.pth', tmp_path / 'hf'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    _tool('mmmim_to_hf').main([str(config), str(ckpt), str(out)])
    assert (out / 'config.json').is_file()
    back = tmp_path / 'back.pth'
    _tool('hf_to_mmmim').main([str(out), str(back), '--config', str(config)])
    saved = torch.load(back, weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(saved['state_dict'][key], value), key
    with pytest.raises(SystemExit):
        _tool('mmmim_to_hf').main([str(config), str(ckpt), str(out)])
    with pytest.raises(SystemExit, match='is the input|is SRC'):
        _tool('hf_to_mmmim').main([str(back), str(back)])
