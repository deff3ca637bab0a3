# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models.utils import check_mask, gather_tokens, mask_to_ids


def test_check_mask_accepts_and_counts():
    mask = torch.tensor(
        [[True, False, True, False], [False, True, True, False]]
    )
    assert check_mask(mask, 4) == 2
    assert check_mask(mask, 4, batch_size=2) == 2
    assert check_mask(mask, 4, equal_counts=False) is None


@pytest.mark.parametrize(
    'mask,match',
    [
        (torch.ones(2, 4), 'bool'),
        (torch.ones(2, 5, dtype=torch.bool), r'\[B, 4\]'),
        (torch.ones(4, dtype=torch.bool), r'\[B, 4\]'),
        (
            torch.tensor(
                [[True, False, False, False], [True, True, False, False]]
            ),
            'same number',
        ),
    ],
)
def test_check_mask_errors(mask, match):
    with pytest.raises(ValueError, match=match):
        check_mask(mask, 4)


def test_check_mask_batch_and_type():
    with pytest.raises(ValueError, match='samples'):
        check_mask(torch.zeros(3, 4, dtype=torch.bool), 4, batch_size=2)
    with pytest.raises(TypeError):
        check_mask([[True, False]], 2)


def test_mask_to_ids_known_answer():
    mask = torch.tensor(
        [[False, True, False, True], [True, True, False, False]]
    )
    ids_keep, ids_restore = mask_to_ids(mask, num_visible=2)
    # Visible tokens first, in their original order (stable sort).
    assert ids_keep.tolist() == [[0, 2], [2, 3]]
    assert ids_restore.tolist() == [[0, 2, 1, 3], [2, 3, 0, 1]]
    # Without num_visible the count is read from the mask.
    keep2, restore2 = mask_to_ids(mask)
    assert torch.equal(keep2, ids_keep) and torch.equal(restore2, ids_restore)


def test_restore_inverts_the_shuffle():
    mask = torch.rand(3, 10).argsort(1) < 4  # 4 masked per row
    x = torch.randn(3, 10, 5)
    ids_keep, ids_restore = mask_to_ids(mask, 6)
    visible = gather_tokens(x, ids_keep)
    masked_ids = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)[:, 6:]
    shuffled = torch.cat([visible, gather_tokens(x, masked_ids)], 1)
    assert torch.equal(gather_tokens(shuffled, ids_restore), x)
    for b in range(3):
        assert torch.equal(visible[b], x[b][~mask[b]])


def test_gather_tokens_matches_indexing():
    x = torch.randn(2, 6, 4, requires_grad=True)
    ids = torch.tensor([[5, 0], [1, 1]])
    out = gather_tokens(x, ids)
    assert torch.equal(out[0], x[0, [5, 0]])
    assert torch.equal(out[1], x[1, [1, 1]])
    out.sum().backward()
    assert x.grad[1, 1].eq(2).all() and x.grad[0, 2].eq(0).all()
