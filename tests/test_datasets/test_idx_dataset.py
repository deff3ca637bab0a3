# Copyright (c) mmmim contributors. All rights reserved.
"""IDX parsing and the Fashion-MNIST dataset on hand-written files."""

import gzip
import struct

import numpy as np
import pytest

from mmmim.datasets import FashionMNIST, IDXDataset, read_idx
from mmmim.registry import DATASETS

from ..installed import require


def write_idx(path, array: np.ndarray, code: int = 0x08, gz: bool = True):
    """Write ``array`` as an IDX file (big-endian), gzipped by default."""
    dtypes = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4'}
    header = bytes([0, 0, code, array.ndim])
    header += struct.pack(f'>{array.ndim}I', *array.shape)
    raw = header + array.astype(dtypes[code]).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def fake_fashion_mnist(root, num_train=12, num_test=6, size=4):
    """IDX files whose every pixel of image i equals its label * 10 + 1."""
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (('train', num_train), ('t10k', num_test)):
        labels = np.arange(n) % 10
        images = np.repeat(labels * 10 + 1, size * size).reshape(n, size, size)
        write_idx(root / f'{prefix}-images-idx3-ubyte.gz', images)
        write_idx(root / f'{prefix}-labels-idx1-ubyte.gz', labels)
    return root


def test_read_idx_known_answer(tmp_path):
    # Hand-written: ubyte, 3 dims (2, 2, 3), payload 0..11, not gzipped.
    raw = b'\x00\x00\x08\x03' + b'\x00\x00\x00\x02' * 2 + b'\x00\x00\x00\x03'
    (tmp_path / 'img').write_bytes(raw + bytes(range(12)))
    out = read_idx(str(tmp_path / 'img'))
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.ravel(), np.arange(12))
    assert out[1, 0, 2] == 8
    # Big-endian int16: 0x0100 = 256 and 0xffff = -1; gzip is detected by
    # its magic bytes whatever the file name.
    raw = b'\x00\x00\x0b\x01\x00\x00\x00\x02\x01\x00\xff\xff'
    (tmp_path / 'labels.bin').write_bytes(gzip.compress(raw))
    labels = read_idx(str(tmp_path / 'labels.bin'))
    np.testing.assert_array_equal(labels, [256, -1])
    assert labels.dtype.isnative


def test_read_idx_roundtrip_gz(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (5, 7, 3))
    path = write_idx(tmp_path / 'x.gz', array)
    np.testing.assert_array_equal(read_idx(str(path)), array)


@pytest.mark.parametrize(
    'payload, match',
    [
        (b'\x01\x00\x08\x01\x00\x00\x00\x01\x05', 'not an IDX file'),
        (b'\x00\x00\x07\x01\x00\x00\x00\x01\x05', 'unknown IDX type'),
        (b'\x00\x00\x08\x02\x00\x00\x00\x01', 'truncated IDX header'),
        (b'\x00\x00\x08\x01\x00\x00\x00\x03\x05', 'promises shape'),
        (b'\x1f\x8b\x08\x00garbage', 'corrupt gzip'),
    ],
)
def test_read_idx_errors(tmp_path, payload, match):
    (tmp_path / 'bad').write_bytes(payload)
    with pytest.raises(ValueError, match=match):
        read_idx(str(tmp_path / 'bad'))


def test_missing_files_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare_fashion_mnist'):
        FashionMNIST(str(tmp_path), split='train')
    with pytest.raises(FileNotFoundError, match='t10k-images-idx3-ubyte'):
        read_idx(str(tmp_path / 't10k-images-idx3-ubyte'))


def test_fashion_mnist_samples(tmp_path):
    root = fake_fashion_mnist(tmp_path / 'fm')
    dataset = DATASETS.build(
        dict(type='mmmim.FashionMNIST', data_root=str(root), split='test')
    )
    assert len(dataset) == 6
    assert dataset.metainfo['classes'][9] == 'Ankle boot'
    for i in range(len(dataset)):
        sample = dataset[i]
        # 1 -> 3 channel replication, and images stay with their labels.
        assert sample['img'].shape == (4, 4, 3)
        assert sample['img'].dtype == np.uint8
        assert (sample['img'] == sample['gt_label'] * 10 + 1).all()
        assert sample['sample_idx'] == i
    np.testing.assert_array_equal(dataset.get_gt_labels(), np.arange(6))
    grey = FashionMNIST(str(root), split='test', num_channels=1)
    assert grey[0]['img'].shape == (4, 4, 1)


def test_subset_is_fixed_by_its_seed(tmp_path):
    root = str(fake_fashion_mnist(tmp_path / 'fm', num_train=40))

    def labels(**kwargs):
        return FashionMNIST(root, split='train', **kwargs).get_gt_labels()

    a, b = labels(subset_size=10), labels(subset_size=10)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 10
    assert not np.array_equal(a, labels(subset_size=10, subset_seed=1))
    with pytest.raises(ValueError, match='exceeds'):
        labels(subset_size=41)
    with pytest.raises(ValueError, match='positive'):
        labels(subset_size=0)


def test_pipeline_packs_inputs(tmp_path):
    require('mmpretrain')
    root = fake_fashion_mnist(tmp_path / 'fm')
    dataset = DATASETS.build(
        dict(
            type='mmmim.FashionMNIST',
            data_root=str(root),
            split='train',
            pipeline=[dict(type='mmpretrain.PackInputs')],
        )
    )
    packed = dataset[3]
    assert tuple(packed['inputs'].shape) == (3, 4, 4)
    assert int(packed['data_samples'].gt_label) == 3


def test_generic_idx_dataset_checks_counts(tmp_path):
    write_idx(tmp_path / 'i.gz', np.zeros((3, 2, 2)))
    write_idx(tmp_path / 'l.gz', np.zeros(2))
    with pytest.raises(ValueError, match='for 3 images'):
        IDXDataset(str(tmp_path), img_file='i.gz', label_file='l.gz')
    write_idx(tmp_path / 'l.gz', np.array([0, 1, 5]))
    with pytest.raises(ValueError, match='only 2 classes'):
        IDXDataset(
            str(tmp_path),
            img_file='i.gz',
            label_file='l.gz',
            classes=('a', 'b'),
        )
    dataset = IDXDataset(str(tmp_path), img_file='i', label_file='l.gz')
    assert len(dataset) == 3  # 'i' resolves to 'i.gz'
