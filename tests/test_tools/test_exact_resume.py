# Copyright (c) mmmim contributors. All rights reserved.
"""SIGKILL at a random iteration (seeded by MMMIM_TEST_SEED and printed),
then ``--resume`` (from a moved work dir) ends with the weights of an
uninterrupted run, bit for bit, for MAE and VideoMAE on their real demo
data with 0 and 2 loader workers.

With ``num_workers=0`` the random augmentations (crops, flips, frame
offsets) run in the main process, so this also checks that the random
states are restored before the first resumed batch is loaded.
"""

import shutil

import pytest
import torch

from mmmim.utils import safe_torch_load

from .conftest import REPO_ROOT, run_tool

ITERS = 6
CONFIGS = dict(
    mae=REPO_ROOT / 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py',
    videomae=REPO_ROOT
    / 'configs/videomae/videomae_vit-tiny-p8_1xb8-coslr-demo.py',
)
TEMPLATE = """
_base_ = '{base}'
custom_imports = dict(
    imports=['mmmim', 'tests.data.toy_components'], allow_failed_imports=False
)
train_cfg = dict(max_iters={iters})
train_dataloader = dict(
    batch_size=4,
    num_workers={workers},
    persistent_workers={persistent},
    dataset=dict({dataset}),
)
model = dict(
    backbone=dict(arch=dict(num_layers=1)), neck=dict(decoder_num_layers=1)
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=2),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=2, end={iters}),
]
default_hooks = dict(
    checkpoint=dict(interval=1, by_epoch=False, max_keep_ckpts=2),
    logger=dict(interval=1),
)
custom_hooks = [
    dict(type='DumpWeightsHook'),
    dict(type='KillAtIterHook', kill_iter={kill}),
]
"""


def _dataset(method: str, root) -> str:
    if method == 'mae':
        return f"data_root='{root}'"
    return (
        f"ann_file='{root / 'train.txt'}', "
        f"data_prefix=dict(video='{root / 'videos'}')"
    )


def _write(path, method, root, workers, kill) -> None:
    path.write_text(
        TEMPLATE.format(
            base=CONFIGS[method],
            iters=ITERS,
            workers=workers,
            persistent=workers > 0,
            dataset=_dataset(method, root),
            kill=kill,
        )
    )


def _weights(work_dir) -> dict:
    return torch.load(work_dir / 'rank0_weights.pth', weights_only=True)


@pytest.mark.parametrize('workers', [0, 2])
@pytest.mark.parametrize('method', ['mae', 'videomae'])
def test_sigkill_and_resume_are_exact(
    tmp_path, method, workers, demo_data_root, demo_video_root, rng
):
    root = demo_data_root if method == 'mae' else demo_video_root
    kill = rng.randint(2, ITERS - 1)  # seeded: MMMIM_TEST_SEED
    print(f'kill at iteration {kill}')  # shown when the test fails
    full_cfg, part_cfg = tmp_path / 'full.py', tmp_path / 'part.py'
    _write(full_cfg, method, root, workers, kill=-1)
    _write(part_cfg, method, root, workers, kill=kill)

    def train(config, work_dir, *extra, expect_rc=0):
        args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
        return run_tool([*args, *extra], expect_rc=expect_rc, timeout=600)

    train(full_cfg, tmp_path / 'full')
    train(part_cfg, tmp_path / 'killed', expect_rc=-9)
    # The work dir moves (to another machine, say) before the resume.
    moved = tmp_path / 'moved'
    shutil.move(tmp_path / 'killed', moved)
    assert not (moved / 'last_checkpoint').read_text().startswith('/')
    key = 'backbone.patch_embed.proj.weight'
    at_kill = safe_torch_load(str(moved / f'iter_{kill}.pth'))
    at_kill = at_kill['state_dict'][key]
    proc = train(full_cfg, moved, '--resume')
    log = proc.stdout + proc.stderr
    assert f'resumed epoch: 0, iter: {kill}' in log, log[-2000:]
    full, resumed = _weights(tmp_path / 'full'), _weights(moved)
    assert full.keys() == resumed.keys()
    for key, value in full.items():
        assert torch.equal(resumed[key], value), (key, kill)
    # The resumed run did train (its weights left the checkpoint's).
    assert not torch.equal(at_kill, resumed[key])
