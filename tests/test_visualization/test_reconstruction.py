# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruction panels: paste-back, un-normalisation, figures."""

import numpy as np
import pytest
import torch
from PIL import Image

from mmmim.models.heads import PixelReconstructionHead
from mmmim.models.utils import patchify
from mmmim.registry import MODELS
from mmmim.visualization import (
    PANEL_TITLES,
    denormalize,
    draw_masks,
    list_images,
    load_image,
    make_panels,
    mask_to_pixels,
    norm_config,
    pred_to_images,
    reconstruct_images,
    save_panels,
    unnormalize_norm_pix,
)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """uint8-range RGB ``[B, 3, H, W]`` -> ImageNet-normalised."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (pixels - mean) / std


def tiny_mae(norm_pix: bool, preprocessor: dict) -> torch.nn.Module:
    model = MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=dict(
                    embed_dims=32,
                    num_layers=1,
                    num_heads=4,
                    feedforward_channels=64,
                ),
                img_size=32,
                patch_size=8,
            ),
            neck=dict(
                type='MAEDecoder',
                num_patches=16,
                patch_size=8,
                embed_dims=32,
                decoder_embed_dims=32,
                decoder_num_layers=1,
                decoder_num_heads=4,
            ),
            head=dict(
                type='PixelReconstructionHead', patch_size=8, norm_pix=norm_pix
            ),
            data_preprocessor=preprocessor,
        )
    )
    model.init_weights()
    return model


IMAGENET_RGB = dict(
    type='ImgDataPreprocessor', mean=MEAN, std=STD, bgr_to_rgb=True
)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    imgs = normalise(torch.randint(0, 256, (2, 3, 32, 32)).float())
    pred = torch.randn(2, 16, 8 * 8 * 3)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, [1, 2, 5, 7, 8, 9, 12, 15]] = True
    mask[1, :12] = True
    return imgs, pred, mask


def test_paste_back_keeps_visible_pixels_exactly(batch):
    imgs, pred, mask = batch
    panels = make_panels(imgs, pred, mask, 8, MEAN, STD, norm_pix=True)
    assert len(panels) == 2 and tuple(panels[0]) == PANEL_TITLES
    hidden = mask_to_pixels(mask, (4, 4), 8)
    for i, panel in enumerate(panels):
        original = panel['original']
        pasted = panel['rec. + visible']
        rec = panel['reconstruction']
        assert original.shape == (32, 32, 3) and original.dtype == np.float32
        visible = ~hidden[i]
        assert np.array_equal(pasted[visible], original[visible])
        assert np.array_equal(pasted[hidden[i]], rec[hidden[i]])
        # The reconstruction differs from the original where it is pasted.
        assert not np.array_equal(rec[visible], original[visible])
        assert np.all(panel['masked'][hidden[i]] == 0.5)
        assert np.array_equal(panel['masked'][visible], original[visible])
    # Pixel (1, 9) lies in token 1 (row 0, column 1): masked in image 0.
    assert hidden[0, 1, 9] and not hidden[0, 1, 1]


def test_original_panel_is_the_image():
    pixels = torch.randint(0, 256, (1, 3, 16, 16)).float()
    panel = denormalize(normalise(pixels), MEAN, STD)
    expected = pixels[0].permute(1, 2, 0).numpy() / 255
    np.testing.assert_allclose(panel[0], expected, atol=1e-5)
    flipped = denormalize(normalise(pixels), MEAN, STD, bgr=True)
    np.testing.assert_array_equal(flipped[0], panel[0][..., ::-1])


def test_norm_pix_unnormalisation_inverts_the_target():
    torch.manual_seed(1)
    imgs = normalise(torch.rand(2, 3, 32, 32) * 255)
    head = PixelReconstructionHead(patch_size=8, norm_pix=True)
    target = head.target(imgs)
    # The target is normalised: mean 0, unit (unbiased) std per patch.
    assert target.mean(-1).abs().max() < 1e-4
    restored = unnormalize_norm_pix(target, imgs, 8, head.norm_pix_eps)
    torch.testing.assert_close(restored, patchify(imgs, 8))
    images = pred_to_images(target, imgs, 8, norm_pix=True)
    torch.testing.assert_close(images, imgs, rtol=1e-5, atol=1e-5)
    # Without un-normalisation the image would be far off.
    assert not torch.allclose(pred_to_images(target, imgs, 8), imgs)


def test_pixel_predictions_are_unpatchified_exactly(batch):
    imgs, _, _ = batch
    images = pred_to_images(patchify(imgs, 8), imgs, 8, norm_pix=False)
    assert torch.equal(images, imgs)


def test_token_predictions_are_rejected(batch):
    imgs, _, mask = batch
    logits = torch.randn(2, 16, 8192)
    with pytest.raises(ValueError, match='pixel target'):
        make_panels(imgs, logits, mask, 8, MEAN, STD)


def test_png_is_written(batch, tmp_path):
    imgs, pred, mask = batch
    panels = make_panels(imgs, pred, mask, 8, MEAN, STD)
    out = tmp_path / 'sub' / 'panels.png'
    returned = save_panels(
        panels, str(out), row_labels=['a', 'b'], caption='caption', dpi=50
    )
    assert returned == str(out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with Image.open(out) as img:
        # 2 x 4 panels of 2 inches with 0.1-inch gaps, margins for the
        # titles, labels and caption, at 50 dpi.
        assert img.size == (435, 240)
        array = np.asarray(img.convert('RGB'))
    assert array.std() > 10  # not a blank canvas
    with pytest.raises(ValueError, match='no panels'):
        save_panels([], str(tmp_path / 'empty.png'))


def write_image(path, size=(48, 40)):
    ramp = np.linspace(0, 255, size[0] * size[1] * 3)
    array = ramp.reshape(size[1], size[0], 3).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def test_load_image_resizes_short_side_and_crops(tmp_path):
    write_image(tmp_path / 'a.png', size=(64, 32))
    img = load_image(str(tmp_path / 'a.png'), 16)
    assert img.shape == (3, 16, 16) and img.dtype == torch.uint8
    write_image(tmp_path / 'd' / 'e' / 'b.jpg')
    (tmp_path / 'd' / 'notes.txt').write_text('x')
    files = list_images([str(tmp_path / 'd'), str(tmp_path / 'a.png')])
    assert [f.rsplit('/', 1)[-1] for f in files] == ['b.jpg', 'a.png']
    with pytest.raises(FileNotFoundError, match='not found'):
        list_images(str(tmp_path / 'missing'))


def test_reconstruct_images_end_to_end(tmp_path):
    write_image(tmp_path / 'a.png', size=(32, 32))
    write_image(tmp_path / 'b.png', size=(40, 32))
    files = [str(tmp_path / 'a.png'), str(tmp_path / 'b.png')]
    model = tiny_mae(norm_pix=True, preprocessor=IMAGENET_RGB)
    assert norm_config(model)[2] is False
    model.train()
    rng_state = torch.get_rng_state()
    panels, caption = reconstruct_images(model, files, seed=3)
    # The global RNG and the train mode are untouched.
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert model.training
    assert 'norm-pix' in caption and 'mask ratio 0.75' in caption
    with Image.open(files[0]) as img:
        expected = np.asarray(img, dtype=np.float32) / 255
    np.testing.assert_allclose(panels[0]['original'], expected, atol=1e-5)
    # The same seed gives the same masks and reconstructions.
    again, _ = reconstruct_images(model, files, seed=3)
    other, _ = reconstruct_images(model, files, seed=4)
    for key in PANEL_TITLES:
        assert np.array_equal(panels[1][key], again[1][key])
    assert not np.array_equal(panels[1]['masked'], other[1]['masked'])
    half, caption = reconstruct_images(model, files, mask_ratio=0.5)
    hidden = half[0]['masked'] != half[0]['original']
    assert 'mask ratio 0.50' in caption
    assert hidden.any(axis=-1).mean() == pytest.approx(0.5, abs=0.05)


def test_bgr_model_gets_bgr_inputs(tmp_path):
    array = write_image(tmp_path / 'a.png', size=(32, 32))
    model = tiny_mae(
        norm_pix=False, preprocessor=dict(type='BaseDataPreprocessor')
    )
    mean, std, bgr = norm_config(model)
    assert bgr and mean == [0.0] * 3 and std == [1.0] * 3
    seen = {}

    def spy(module, args):
        seen['inputs'] = args[0].clone()

    model.backbone.register_forward_pre_hook(spy)
    panels, caption = reconstruct_images(model, [str(tmp_path / 'a.png')])
    assert 'pixel target' in caption
    # The model saw raw BGR values; the panel shows RGB again.
    bgr_pixels = torch.from_numpy(array[..., ::-1].copy()).permute(2, 0, 1)
    assert torch.equal(seen['inputs'][0], bgr_pixels.float())
    np.testing.assert_allclose(panels[0]['original'], array / 255, atol=1e-6)


def test_draw_masks_uses_the_model_generator():
    model = tiny_mae(norm_pix=False, preprocessor=IMAGENET_RGB)
    masks = draw_masks(model, 3, (4, 4), seed=0)
    assert masks.shape == (3, 16) and masks.dtype == torch.bool
    assert masks.sum(1).tolist() == [12, 12, 12]
    assert torch.equal(masks, draw_masks(model, 3, (4, 4), seed=0))
    assert draw_masks(model, 3, (4, 4), 0.25).sum(1).tolist() == [4, 4, 4]
