# Copyright (c) mmmim contributors. All rights reserved.
"""Every method on 2 processes equals it on 1 process with the same global
batch: the same masks for the same samples, the same losses, the same
weights (CPU, gloo)."""

import json
import socket

import pytest
import torch

from .conftest import REPO_ROOT, run_tool

CONFIGS = REPO_ROOT / 'tests' / 'data' / 'configs'
CONFIG = CONFIGS / 'mae_tiny_ddp.py'
#: The tiny job of each method (8 samples per iteration in total); all
#: record their masks with ``DumpMasksHook``.
METHOD_CONFIGS = {
    method: CONFIGS / f'{method}_tiny_ddp.py'
    for method in ('mae', 'simmim', 'convmae', 'videomae')
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _losses(work_dir, rank):
    return json.loads((work_dir / f'rank{rank}_losses.json').read_text())


def _masks(work_dir, rank):
    return torch.load(work_dir / f'rank{rank}_masks.pth', weights_only=True)


@pytest.mark.parametrize('method', list(METHOD_CONFIGS))
def test_two_processes_follow_the_one_process_run(method, tmp_path):
    config = METHOD_CONFIGS[method]
    one = tmp_path / 'one'
    run_tool(['tools/train.py', str(config), '--work-dir', str(one)])
    two = tmp_path / 'two'
    run_tool(
        [
            'bash',
            'tools/dist_train.sh',
            str(config),
            '2',
            '--work-dir',
            str(two),
            '--cfg-options',
            'train_dataloader.batch_size=4',
        ],
        env_extra=dict(PORT=str(_free_port())),
    )

    # The same masks: in every iteration, rank r holds the global batch's
    # samples r, r + 2, ... (DefaultSampler deals them round-robin), and
    # their masks are the rows the one process drew for them.
    single = _masks(one, 0)
    ranks = [_masks(two, r) for r in (0, 1)]
    num_iters = len(single['masks'])
    assert num_iters == 5
    for it in range(num_iters):
        global_masks = single['masks'][it]
        assert global_masks.dtype == torch.bool
        assert global_masks.shape[0] == 8
        for rank, record in enumerate(ranks):
            assert record['indices'][it] == single['indices'][it][rank::2], (
                f'{method}: iteration {it}: rank {rank} got other samples '
                'than positions rank::2 of the global batch'
            )
        interleaved = torch.stack(
            [record['masks'][it] for record in ranks], dim=1
        ).flatten(0, 1)
        assert torch.equal(interleaved, global_masks), (
            f'{method}: iteration {it}: the two ranks masked their samples '
            'differently from the one process'
        )
        # Every sample its own mask (not one mask per rank).
        assert len({tuple(m.tolist()) for m in global_masks}) > 1

    single = torch.tensor(_losses(one, 0))
    rank0, rank1 = (torch.tensor(_losses(two, r)) for r in (0, 1))
    assert len(single) == num_iters
    # Equal masked counts per sample: the global loss is the mean of the
    # two ranks' losses.
    torch.testing.assert_close(
        (rank0 + rank1) / 2, single, rtol=1e-5, atol=1e-6
    )
    # The ranks saw different samples with different masks.
    assert not torch.allclose(rank0, rank1)
    # And the weights agree at the end, up to float noise that Adam's
    # normalised steps amplify for near-zero gradients (< 0.1 lr).
    w_one = torch.load(one / 'rank0_weights.pth', weights_only=True)
    w_two = torch.load(two / 'rank0_weights.pth', weights_only=True)
    assert w_one.keys() == w_two.keys()
    for key in w_one:
        torch.testing.assert_close(
            w_two[key], w_one[key], rtol=1e-3, atol=1e-4
        )


@pytest.mark.parametrize('world_size', [2, 4])
def test_global_batch_masks_are_rows_of_one_draw(world_size, monkeypatch):
    from mmmim.models.mask_generators import RandomMaskGenerator, global_batch

    generator = RandomMaskGenerator(mask_ratio=0.75)
    torch.manual_seed(3)
    single = generator(3 * world_size, (4, 4))
    per_rank = []
    for rank in range(world_size):
        monkeypatch.setattr(global_batch, 'get_world_size', lambda: world_size)
        monkeypatch.setattr(global_batch, 'get_rank', lambda r=rank: r)
        torch.manual_seed(3)  # every rank starts from the same state
        per_rank.append(
            global_batch.draw_global_batch_mask(generator, 3, (4, 4))
        )
    for rank, masks in enumerate(per_rank):
        # Rank r holds global positions j * W + r (DefaultSampler order).
        assert torch.equal(masks, single[rank::world_size])
    # No two samples anywhere share a mask.
    rows = torch.cat(per_rank)
    assert len({tuple(r.tolist()) for r in rows}) == len(rows)


def test_fixed_seed_repeats_masks_and_losses_exactly(tmp_path):
    """Two runs with the same seed: identical loss curves, bit for bit."""
    for name in ('a', 'b'):
        run_tool(
            [
                'tools/train.py',
                str(CONFIG),
                '--work-dir',
                str(tmp_path / name),
                '--cfg-options',
                'train_cfg.max_iters=3',
            ]
        )
    assert _losses(tmp_path / 'a', 0) == _losses(tmp_path / 'b', 0)
    # A different seed draws different masks, so the losses change.
    run_tool(
        [
            'tools/train.py',
            str(CONFIG),
            '--work-dir',
            str(tmp_path / 'c'),
            '--cfg-options',
            'train_cfg.max_iters=3',
            'randomness.seed=1',
        ]
    )
    assert _losses(tmp_path / 'c', 0) != _losses(tmp_path / 'a', 0)
