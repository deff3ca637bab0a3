# Copyright (c) mmmim contributors. All rights reserved.
"""Bad input battery: each case fails with an error that names the problem
(or is recovered from in a documented way), never with an unrelated
traceback or silently wrong data."""

import importlib.util
import os
import types

import numpy as np
import pytest
import torch
from PIL import Image

from mmmim.utils import register_all_modules

# Register without changing the default scope of later tests.
register_all_modules(init_default_scope=False)

from mmmim.registry import DATASETS, MODELS, TASK_UTILS, TRANSFORMS  # noqa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_ARCH = dict(
    embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64
)


def tiny_mae(**backbone):
    return MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=TINY_ARCH,
                img_size=32,
                patch_size=8,
                **backbone,
            ),
            neck=dict(
                type='MAEDecoder',
                num_patches=16,
                patch_size=8,
                embed_dims=32,
                decoder_embed_dims=32,
                decoder_num_layers=1,
                decoder_num_heads=2,
            ),
            head=dict(type='PixelReconstructionHead', patch_size=8),
        )
    )


# --------------------------------------------------------------- models
@pytest.mark.parametrize('ratio', [0, 1, -0.1, 1.5, 0.0, 1.0])
@pytest.mark.parametrize(
    'generator', ['RandomMaskGenerator', 'BlockMaskGenerator']
)
def test_mask_ratio_outside_open_interval(generator, ratio):
    with pytest.raises(ValueError, match=r'mask_ratio.*\(0, 1\)'):
        TASK_UTILS.build(dict(type=generator, mask_ratio=ratio))


def test_image_size_not_divisible_by_patch_size():
    with pytest.raises(ValueError, match='not divisible by the patch size 8'):
        tiny_mae().reconstruct(torch.rand(1, 3, 30, 30))


@pytest.mark.parametrize(
    'mask, message',
    [
        (torch.zeros(2, 16, dtype=torch.float32), 'bool'),
        (torch.zeros(2, 15, dtype=torch.bool), '16'),
        (torch.zeros(3, 16, dtype=torch.bool), 'batch'),
    ],
)
def test_mask_of_wrong_dtype_or_shape(mask, message):
    with pytest.raises(ValueError, match=message):
        tiny_mae().reconstruct(torch.rand(2, 3, 32, 32), mask)


def test_mask_with_unequal_counts_where_tokens_are_dropped():
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, :12] = True
    mask[1, :10] = True
    with pytest.raises(ValueError, match='same number'):
        tiny_mae().reconstruct(torch.rand(2, 3, 32, 32), mask)


def test_unknown_arch_lists_the_valid_ones():
    with pytest.raises((KeyError, ValueError), match="'b'"):
        MODELS.build(dict(type='MAEViT', arch='xl'))


def test_unknown_mask_generator_names_it():
    with pytest.raises(KeyError, match='RandomMaskGeneratr'):
        tiny_mae(mask_generator=dict(type='RandomMaskGeneratr'))


def test_config_key_typo_names_the_key():
    with pytest.raises(TypeError, match="'archh'"):
        MODELS.build(dict(type='MAEViT', archh='b'))


# ----------------------------------------------------------------- data
def test_missing_data_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope'):
        DATASETS.build(
            dict(
                type='mmpretrain.CustomDataset',
                data_root=str(tmp_path / 'nope'),
                with_label=False,
                pipeline=[],
            )
        )


def test_empty_dataset_says_so(tmp_path):
    with pytest.raises(RuntimeError, match='Found 0 files'):
        DATASETS.build(
            dict(
                type='mmpretrain.CustomDataset',
                data_root=str(tmp_path),
                with_label=False,
                pipeline=[],
            )
        )


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / 'imgs' / 'a'
    folder.mkdir(parents=True)
    Image.fromarray(np.full((40, 48, 3), 200, np.uint8)).save(
        folder / 'good.jpg'
    )
    (folder / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff not a jpeg')
    Image.fromarray(np.full((40, 48), 90, np.uint8)).save(folder / 'g.png')
    Image.fromarray(np.full((40, 48, 4), 90, np.uint8)).save(
        folder / 'rgba.png'
    )
    return tmp_path / 'imgs'


def test_corrupt_image_fails_with_its_path(image_folder):
    load = TRANSFORMS.build(dict(type='LoadImageOrSkip'))
    with pytest.raises(ValueError, match="corrupt.jpg.*on_error='skip'"):
        load(dict(img_path=str(image_folder / 'a' / 'corrupt.jpg')))


def test_corrupt_image_skipped_when_configured(image_folder):
    """``on_error='skip'``: the dataset refetches another sample."""
    dataset = DATASETS.build(
        dict(
            type='mmpretrain.CustomDataset',
            data_root=str(image_folder),
            with_label=False,
            pipeline=[dict(type='mmmim.LoadImageOrSkip', on_error='skip')],
        )
    )
    names = [
        os.path.basename(dataset[i]['img_path']) for i in range(len(dataset))
    ]
    assert 'corrupt.jpg' not in names and len(names) == 4


@pytest.mark.parametrize('name', ['g.png', 'rgba.png'])
def test_grayscale_and_rgba_become_three_channels(image_folder, name):
    load = TRANSFORMS.build(dict(type='LoadImageOrSkip'))
    img = load(dict(img_path=str(image_folder / 'a' / name)))['img']
    assert img.shape == (40, 48, 3)
    assert img.dtype == np.uint8


# ---------------------------------------------------------- checkpoints
def _mae_converter():
    path = os.path.join(REPO, 'tools', 'model_converters', 'mae_to_mmmim.py')
    spec = importlib.util.spec_from_file_location('mae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    'keys, message',
    [
        (['patch_embed1.proj.weight', 'blocks1.0.conv1.weight'], 'ConvMAE'),
        (['encoder.patch_embed.proj.weight'], 'VideoMAE'),
        (
            [
                'patch_embed.proj.weight',
                'blocks.0.attn.qkv.weight',
                'head.weight',
            ],
            'fine-tuned',
        ),
        (['some.other.weight'], 'not an MAE ViT checkpoint'),
    ],
)
def test_converter_rejects_other_methods(keys, message):
    state_dict = {k: torch.zeros(1) for k in keys}
    with pytest.raises(ValueError, match=message):
        _mae_converter().convert(state_dict, 'ckpt.pth')


def test_converter_names_unknown_keys():
    state_dict = {
        'patch_embed.proj.weight': torch.zeros(8, 3, 4, 4),
        'blocks.0.attn.qkv.weight': torch.zeros(24, 8),
        'blocks.0.mlp.fc1.weight': torch.zeros(32, 8),
        'pos_embed': torch.zeros(1, 5, 8),
        'mystery.weight': torch.zeros(1),
    }
    with pytest.raises(KeyError, match='mystery.weight'):
        _mae_converter().convert(state_dict, 'ckpt.pth')


class _Payload:
    """An arbitrary class pickled into a checkpoint."""


def test_converter_refuses_pickled_code_without_trust(tmp_path):
    src = tmp_path / 'official.pth'
    torch.save({'model': {}, 'extra': _Payload()}, src)
    with pytest.raises(Exception, match='MMMIM_TRUST_CHECKPOINTS'):
        _mae_converter().main([str(src), str(tmp_path / 'out.pth')])


def test_checkpoint_of_another_size_is_an_error(tmp_path):
    small, large = (
        tiny_mae(),
        MODELS.build(
            dict(
                type='MAEViT',
                arch=dict(
                    embed_dims=64,
                    num_layers=1,
                    num_heads=2,
                    feedforward_channels=64,
                ),
                img_size=32,
                patch_size=8,
            )
        ),
    )
    path = tmp_path / 'large.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v for k, v in large.state_dict().items()
            }
        },
        path,
    )
    backbone = MODELS.build(
        dict(
            type='MAEViT',
            arch=TINY_ARCH,
            img_size=32,
            patch_size=8,
            init_cfg=dict(
                type='Pretrained', checkpoint=str(path), prefix='backbone.'
            ),
        )
    )
    with pytest.raises(Exception, match='size|shape'):
        backbone.init_weights()
    del small


# Videos (VideoMAE): the same policy as images.


def _video_steps(path, on_error='raise', min_frames=0):
    results = dict(filename=str(path), start_index=0, modality='RGB')
    for step in (
        dict(type='PyAVInitOrSkip', on_error=on_error, min_frames=min_frames),
        dict(type='mmaction.SampleFrames', clip_len=16, test_mode=True),
        dict(type='PyAVDecodeOrSkip', on_error=on_error),
    ):
        results = TRANSFORMS.build(step)(results)
        if results is None:
            return None
    return results


def _write_video(path, frames, faststart=False):
    import av

    options = {'movflags': 'faststart'} if faststart else {}
    with av.open(str(path), mode='w', options=options) as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, 'yuv420p'
        rng = np.random.default_rng(0)
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                format='rgb24',
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.mark.parametrize(
    'kind, message',
    [
        ('corrupt', 'does not open'),
        ('truncated', 'ends after|decoding failed'),
        ('too_short', 'fewer than the 16'),
    ],
)
def test_bad_videos_name_the_file_or_are_skipped(tmp_path, kind, message):
    path = tmp_path / f'{kind}.mp4'
    min_frames = 0
    if kind == 'corrupt':
        path.write_bytes(b'\x00\x00\x00\x18ftypmp42 broken')
    elif kind == 'truncated':
        _write_video(path, 48, faststart=True)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    else:
        _write_video(path, 8)
        min_frames = 16
    with pytest.raises(ValueError, match=f'{kind}.mp4.*({message})'):
        _video_steps(path, min_frames=min_frames)
    assert _video_steps(path, 'skip', min_frames) is None


def test_images_given_to_a_video_model_and_image_grids_to_tube_masks():
    backbone = MODELS.build(
        dict(
            type='VideoMAEViT',
            arch=TINY_ARCH,
            img_size=32,
            num_frames=4,
            patch_size=8,
        )
    )
    with pytest.raises(ValueError, match=r'\[B, C, T, H, W\]'):
        backbone(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r'\(t, h, w\)'):
        TASK_UTILS.build(dict(type='TubeMaskGenerator'))(1, (14, 14))


def test_masks_on_only_some_samples_are_an_error():
    from mmengine.structures import BaseDataElement

    model = tiny_mae()
    samples = [BaseDataElement(), BaseDataElement()]
    samples[0].mask = np.zeros(16, dtype=bool)
    with pytest.raises(ValueError, match='1 of 2 data samples have no'):
        model(torch.zeros(2, 3, 32, 32), samples, mode='loss')


# ------------------------------------------- damaged vs untrusted files
def _damaged_files(folder):
    """A good checkpoint and damaged ones named as a run would name them."""
    torch.save({'state_dict': {'w': torch.zeros(64)}}, folder / 'iter_1.pth')
    whole = (folder / 'iter_1.pth').read_bytes()
    files = dict(
        truncated=whole[: len(whole) // 2],
        empty=b'',
        text=b'<html>404 Not Found</html>',
    )
    for step, data in enumerate(files.values(), start=2):
        (folder / f'iter_{step}.pth').write_bytes(data)
    return {kind: folder / f'iter_{i}.pth' for i, kind in enumerate(files, 2)}


@pytest.mark.parametrize('kind', ['truncated', 'empty', 'text'])
@pytest.mark.parametrize('trust', ['0', '1'])
def test_damaged_checkpoint_is_not_called_untrusted(
    tmp_path, monkeypatch, kind, trust
):
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmmim.utils import TRUST_ENV_VAR, CorruptCheckpointError
    from mmmim.utils.converter_utils import load_official_checkpoint

    monkeypatch.setenv(TRUST_ENV_VAR, trust)
    path = _damaged_files(tmp_path)[kind]
    for load in (_load_checkpoint, load_official_checkpoint):
        with pytest.raises(CorruptCheckpointError) as info:
            load(str(path))
        message = str(info.value)
        assert path.name in message and 'damaged' in message
        assert TRUST_ENV_VAR not in message
        assert 'iter_1.pth' in message  # the previous one, to use instead


def test_untrusted_checkpoint_still_names_the_trust_variable(tmp_path):
    from mmmim.utils import TRUST_ENV_VAR, CorruptCheckpointError
    from mmmim.utils.converter_utils import load_official_checkpoint

    path = tmp_path / 'iter_2.pth'
    torch.save({'model': {}, 'extra': _Payload()}, path)
    with pytest.raises(Exception, match=TRUST_ENV_VAR) as info:
        load_official_checkpoint(str(path))
    assert not isinstance(info.value, CorruptCheckpointError)


# ----------------------------------------------- what killed runs leave
def _train(work_dir, max_iters, *extra):
    from tests.test_tools.conftest import TOY_CONFIG, run_tool

    return run_tool(
        [
            'tools/train.py',
            str(TOY_CONFIG),
            '--work-dir',
            str(work_dir),
            *extra,
            '--cfg-options',
            f'train_cfg.max_iters={max_iters}',
            'default_hooks.checkpoint.type=AtomicCheckpointHook',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1',
        ]
    )


def test_restart_removes_what_a_killed_run_left(tmp_path):
    _train(tmp_path, 2)
    # A kill between writing iter_2 and deleting iter_1, and one while
    # writing: files that no later run would delete.
    (tmp_path / 'iter_1.pth').write_bytes(
        (tmp_path / 'iter_2.pth').read_bytes()
    )
    partial = tmp_path / '.iter_3.pth.x1y2z3.partial'
    partial.write_bytes(b'half a checkpoint')
    os.utime(partial, (1e9, 1e9))
    proc = _train(tmp_path, 3, '--resume')
    left = [p.name for p in tmp_path.iterdir() if 'iter_' in p.name]
    assert left == ['iter_3.pth']
    log = proc.stdout + proc.stderr
    assert 'left by an interrupted run' in log and 'iter_1.pth' in log
    # The permissions of a plain open(), not tempfile's 0600.
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / 'iter_3.pth').stat().st_mode & 0o777 == (0o666 & ~umask)


def test_clean_up_spares_the_resumed_and_the_newest_checkpoints(tmp_path):
    from mmmim.utils.stale_files import checkpoints_beyond_limit

    for step in (1, 2, 3, 4):
        (tmp_path / f'iter_{step}.pth').write_bytes(b'x')
    stale = checkpoints_beyond_limit(
        str(tmp_path), 'iter_{}.pth', 2, [str(tmp_path / 'iter_1.pth')]
    )
    assert [os.path.basename(p) for p in stale] == ['iter_2.pth']
    assert checkpoints_beyond_limit(str(tmp_path), 'iter_{}.pth', -1) == []


# ------------------------------------------------ vis_reconstruction
def _run_vis(tmp_path, *extra, expect_rc=0):
    from mmengine.runner import save_checkpoint

    from tests.test_tools.conftest import run_tool
    from tests.test_tools.test_vis_reconstruction import CONFIG

    config = tmp_path / 'mae_tiny.py'
    if not config.exists():
        config.write_text(CONFIG)
        namespace: dict = {}
        exec(CONFIG, namespace)
        model = MODELS.build(namespace['model'])
        save_checkpoint(model.state_dict(), str(tmp_path / 'tiny.pth'))
    tool = 'tools/visualization/vis_reconstruction.py'
    args = [tool, str(config), str(tmp_path / 'tiny.pth'), '--img']
    args += [str(tmp_path / 'imgs'), '--out-dir', str(tmp_path / 'out')]
    return run_tool([*args, *extra], expect_rc=expect_rc)


def test_vis_reconstruction_16_bit_and_truncated_images(tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    ramp = np.tile(np.linspace(0, 4000, 32, dtype=np.uint16), (32, 1))
    Image.fromarray(ramp).save(folder / 'deep.png')  # 16-bit grey
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(folder / 'b.png')
    whole = (folder / 'b.png').read_bytes()
    (folder / 'cut.png').write_bytes(whole[: len(whole) // 2])
    proc = _run_vis(tmp_path, expect_rc=1)
    assert 'cut.png' in proc.stderr and '--skip-bad' in proc.stderr
    proc = _run_vis(tmp_path, '--skip-bad')
    assert 'cut.png' in proc.stderr  # the warning names it
    out = sorted(p.name for p in (tmp_path / 'out').iterdir())
    assert out == ['b.png', 'deep.png', 'reconstructions.png']
    with Image.open(tmp_path / 'out' / 'deep.png') as img:
        figure = np.asarray(img.convert('L'), dtype=float)
    # The original panel (left quarter) is a dark-to-light ramp, not the
    # white square that clipping 16-bit values to 255 gives.
    original = figure[60:-40, 20 : figure.shape[1] // 4 - 20]
    assert original.mean() < 200 and original.std() > 20


# ---------------------------------------------- geometry of the parts
def _ddp_config_model(name):
    from mmengine.config import Config

    return Config.fromfile(
        os.path.join(REPO, 'tests', 'data', 'configs', f'{name}.py')
    ).model


@pytest.mark.parametrize(
    'name, key, value, message',
    [
        ('mae_tiny_ddp', 'num_patches', 9, 'img_size/patch_size'),
        ('convmae_tiny_ddp', 'num_patches', 9, 'img_size/patch_sizes'),
        ('videomae_tiny_ddp', 'num_patches', 10, 'num_frames/tubelet'),
        ('mae_tiny_ddp', 'embed_dims', 24, r'model.backbone.arch'),
        ('simmim_tiny_ddp', 'encoder_stride', 4, 'model.backbone.patch'),
    ],
)
def test_neck_that_does_not_fit_the_backbone_names_config_keys(
    name, key, value, message
):
    model = _ddp_config_model(name)
    model.neck[key] = value
    with pytest.raises(ValueError, match=f'model.neck.{key}.*{message}'):
        MODELS.build(model)


def test_head_patches_that_do_not_fit_name_config_keys():
    model = _ddp_config_model('mae_tiny_ddp')
    model.head.patch_size = model.backbone.patch_size * 2
    with pytest.raises(ValueError, match='model.head.patch_size'):
        MODELS.build(model)


# ------------------------------------------------------- short videos
@pytest.mark.parametrize('short_clip', ['warn', 'error'])
def test_video_shorter_than_the_clip_is_not_looped_silently(
    tmp_path, monkeypatch, short_clip
):
    from mmmim.datasets.transforms import video_loading

    warnings_seen = []

    class Logger:
        def warning(self, message):
            warnings_seen.append(message)

    # Only this module's logger: mmaction2 logs through the real one.
    monkeypatch.setattr(
        video_loading,
        'MMLogger',
        types.SimpleNamespace(get_current_instance=Logger),
    )
    path = tmp_path / f'five_{short_clip}.mp4'
    _write_video(path, 5)

    def load(on_error):
        results = dict(filename=str(path), start_index=0, modality='RGB')
        for step in (
            dict(type='PyAVInitOrSkip'),
            dict(type='mmaction.SampleFrames', clip_len=8, frame_interval=2),
            dict(
                type='PyAVDecodeOrSkip',
                on_error=on_error,
                short_clip=short_clip,
            ),
        ):
            results = TRANSFORMS.build(step)(results)
        return results

    if short_clip == 'warn':
        assert len(load('raise')['imgs']) == 8  # looped, as mmaction2
        load('raise')  # the same file: warned once
        assert len(warnings_seen) == 1
        assert path.name in warnings_seen[0]
        assert '5 frames' in warnings_seen[0] and '15' in warnings_seen[0]
    else:
        with pytest.raises(ValueError, match=f'{path.name}.*5 frames'):
            load('raise')
        assert load('skip') is None


# ----------------------------------------------- shell tools' python
def test_dist_train_uses_the_project_venv_not_python_on_path(tmp_path):
    import shutil
    import subprocess
    import sys

    root = tmp_path / 'repo'
    (root / 'tools' / 'misc').mkdir(parents=True)
    for name in ('dist_train.sh', 'misc/find_python.sh'):
        shutil.copy(os.path.join(REPO, 'tools', name), root / 'tools' / name)
    (root / 'tools' / 'train.py').write_text(
        'import sys, torch\nprint("TRAIN RAN", sys.argv[1:])\n'
    )
    fake = tmp_path / 'fake_bin'
    fake.mkdir()
    python = fake / 'python'  # a python without torch, first on PATH
    python.write_text('#!/bin/sh\necho "No module named torch" >&2\nexit 1\n')
    python.chmod(0o755)
    venv = root / '.venv' / 'bin' / 'python'
    venv.parent.mkdir(parents=True)
    venv.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    venv.chmod(0o755)
    env = {'PATH': f'{fake}:/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    script = str(root / 'tools' / 'dist_train.sh')
    proc = subprocess.run(
        ['bash', script, 'cfg.py', '1'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TRAIN RAN ['cfg.py', '--launcher', 'pytorch']" in proc.stdout
    # Without the venv, `python` from PATH (here the fake one).
    shutil.rmtree(root / '.venv')
    proc = subprocess.run(
        ['bash', script, 'cfg.py', '1'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and 'No module named torch' in proc.stderr


# ------------------------------------------------- --cfg-options dict
def _tool_module(name):
    path = os.path.join(REPO, 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_cfg_options_take_a_dict_value(monkeypatch, capsys, tool):
    module = _tool_module(tool)
    positional = ['cfg.py'] if tool == 'train' else ['cfg.py', 'c.pth']
    value = (
        "model.backbone.init_cfg=dict(type='Pretrained',checkpoint='x.pth')"
    )
    monkeypatch.setattr(
        'sys.argv', [tool, *positional, '--cfg-options', value]
    )
    args = module.parse_args()
    assert args.cfg_options == {
        'model.backbone.init_cfg': dict(type='Pretrained', checkpoint='x.pth')
    }
    bad = 'model.backbone.init_cfg=Pretrained(checkpoint,x)'
    monkeypatch.setattr('sys.argv', [tool, *positional, '--cfg-options', bad])
    with pytest.raises(SystemExit):
        module.parse_args()
    assert 'key.type=Pretrained' in capsys.readouterr().err


# ------------------------------------------ converter onto its input
@pytest.mark.parametrize(
    'dst', ['same', 'absolute', 'dotdot', 'symlink', 'hardlink', 'folder']
)
def test_converter_never_writes_over_its_input(tmp_path, monkeypatch, dst):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'sub').mkdir()
    src = tmp_path / 'official.pth'
    torch.save({'model': {'w': torch.ones(3)}}, src)
    before = src.read_bytes()
    target = dict(
        same='official.pth',
        absolute=str(src),
        dotdot='sub/../official.pth',
        symlink='link.pth',
        hardlink='hard.pth',
        folder='sub',
    )[dst]
    if dst == 'symlink':
        os.symlink('official.pth', 'link.pth')
    elif dst == 'hardlink':
        os.link('official.pth', 'hard.pth')
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(SystemExit):
        _mae_converter().main(['official.pth', target])
    assert src.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == listing  # nothing written
    assert os.listdir(tmp_path / 'sub') == []


def test_converter_output_is_not_written_through_its_temporary_name(
    tmp_path, monkeypatch
):
    """``DST.partial`` used to be the temporary file: were it SRC, the
    official file was overwritten."""
    from mmmim.utils.converter_utils import save_converted

    src = tmp_path / 'out.pth.partial'
    src.write_bytes(b'official')
    save_converted({'w': torch.ones(1)}, str(tmp_path / 'out.pth'))
    assert src.read_bytes() == b'official'
    umask = os.umask(0o022)
    os.umask(umask)
    mode = (tmp_path / 'out.pth').stat().st_mode & 0o777
    assert mode == 0o666 & ~umask
