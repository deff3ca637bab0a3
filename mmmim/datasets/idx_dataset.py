# Copyright (c) mmmim contributors. All rights reserved.
"""Image classification data in IDX files (the MNIST / Fashion-MNIST format).

An IDX file is a big-endian header ``0x00 0x00 <dtype> <ndim>``, ``ndim``
uint32 sizes, then the array. ``.gz`` files are read transparently (the
gzip magic bytes are detected, whatever the file name says).
"""

import gzip
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from mmmim.registry import DATASETS

__all__ = ['read_idx', 'IDXDataset', 'FashionMNIST']

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype('>u1'),
    0x09: np.dtype('>i1'),
    0x0B: np.dtype('>i2'),
    0x0C: np.dtype('>i4'),
    0x0D: np.dtype('>f4'),
    0x0E: np.dtype('>f8'),
}
_GZIP_MAGIC = b'\x1f\x8b'
PREPARE_HINT = (
    'run `bash tools/misc/prepare_fashion_mnist.sh` (Fashion-MNIST from the '
    'Debian package dataset-fashion-mnist) or point data_root at a folder '
    'with the IDX files'
)


def _read_bytes(path: str) -> bytes:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'IDX file {path} does not exist; ' + PREPARE_HINT
        )
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f'{path} is a corrupt gzip file: {e}') from e
    return raw


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a numpy array.

    Args:
        path (str): The file.

    Returns:
        np.ndarray: The array in native byte order, shaped as the header
        says (``[N, H, W]`` uint8 for images, ``[N]`` for labels).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the header is not IDX or the payload size does not
            match it.
    """
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f'{path} is not an IDX file: it must start with two zero bytes, '
            f'got {raw[:4]!r}'
        )
    dtype = _IDX_DTYPES.get(raw[2])
    if dtype is None:
        raise ValueError(f'{path}: unknown IDX type code 0x{raw[2]:02x}')
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f'{path}: truncated IDX header ({ndim} dims)')
    shape = tuple(int(s) for s in np.frombuffer(raw, '>u4', ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f'{path}: the header promises shape {shape} ({expected} bytes) '
            f'but the payload has {len(raw) - header} bytes'
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder('='))


def _find_file(data_root: str, name: str) -> str:
    """``data_root/name``, also accepting ``name`` with or without .gz."""
    path = osp.join(data_root, name)
    alternative = path[:-3] if path.endswith('.gz') else path + '.gz'
    for candidate in (path, alternative):
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f'IDX file {path} (or {osp.basename(alternative)}) does not exist '
        f'in {data_root!r}; ' + PREPARE_HINT
    )


@DATASETS.register_module()
class IDXDataset(BaseDataset):
    """Labelled images stored as a pair of IDX files.

    The images are decoded once into memory; each sample is an ``img``
    ``[H, W, C]`` uint8 array (grey images replicated to ``num_channels``)
    with its ``gt_label``, ready for the usual mmcv / mmpretrain transforms
    and ``mmpretrain.PackInputs``.

    Args:
        data_root (str): The folder holding the files.
        img_file (str): The image file, ``[N, H, W]`` or ``[N, H, W, C]``
            uint8 (``.gz`` optional).
        label_file (str): The label file, ``[N]`` integers.
        num_channels (int): Channels of the output images: a grey image is
            replicated to this many (1 keeps it single-channel).
            Defaults to 3.
        subset_size (int, optional): Keep a random subset of this many
            samples, drawn with ``subset_seed`` (the same subset on every
            run and rank). Defaults to None (all).
        subset_seed (int): Seed of the subset. Defaults to 0.
        classes (Sequence[str], optional): Class names. Defaults to the
            class's ``METAINFO``.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        test_mode (bool): Defaults to False.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO: dict = dict(classes=None)

    def __init__(
        self,
        data_root: str,
        img_file: str,
        label_file: str,
        num_channels: int = 3,
        subset_size: Optional[int] = None,
        subset_seed: int = 0,
        classes: Optional[Sequence[str]] = None,
        pipeline: Sequence = (),
        test_mode: bool = False,
        **kwargs,
    ) -> None:
        if subset_size is not None and subset_size <= 0:
            raise ValueError(
                f'subset_size must be positive, got {subset_size}'
            )
        if num_channels < 1:
            raise ValueError(f'num_channels must be >= 1, got {num_channels}')
        self.img_file = img_file
        self.label_file = label_file
        self.num_channels = num_channels
        self.subset_size = subset_size
        self.subset_seed = subset_seed
        self._images: Optional[np.ndarray] = None
        metainfo = kwargs.pop('metainfo', None) or {}
        if classes is not None:
            metainfo = dict(metainfo, classes=tuple(classes))
        super().__init__(
            data_root=data_root,
            metainfo=metainfo,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs,
        )

    def _load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        images = read_idx(_find_file(self.data_root, self.img_file))
        labels = read_idx(_find_file(self.data_root, self.label_file))
        if images.ndim not in (3, 4) or images.dtype != np.uint8:
            raise ValueError(
                f'{self.img_file}: expected uint8 images [N, H, W(, C)], '
                f'got {images.dtype} {images.shape}'
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f'{self.label_file} holds labels of shape {labels.shape} for '
                f'{len(images)} images in {self.img_file}'
            )
        return images, labels.astype(np.int64)

    def load_data_list(self) -> List[dict]:
        """Decode the files and list ``{'file_idx', 'gt_label'}``."""
        images, labels = self._load_arrays()
        indices = np.arange(len(images))
        if self.subset_size is not None:
            if self.subset_size > len(images):
                raise ValueError(
                    f'subset_size {self.subset_size} exceeds the '
                    f'{len(images)} samples of {self.img_file}'
                )
            rng = np.random.default_rng(self.subset_seed)
            indices = np.sort(rng.permutation(len(images))[: self.subset_size])
        self._images = images
        classes = self._metainfo.get('classes')
        if (
            classes is not None
            and labels.size
            and labels.max() >= len(classes)
        ):
            raise ValueError(
                f'{self.label_file} has label {labels.max()} but only '
                f'{len(classes)} classes are named'
            )
        return [
            dict(file_idx=int(i), gt_label=int(labels[i])) for i in indices
        ]

    def get_data_info(self, idx: int) -> dict:
        """The sample's info with its ``img`` ``[H, W, C]`` uint8."""
        info = super().get_data_info(idx)
        img = self._images[info['file_idx']]
        if img.ndim == 2:
            img = img[..., None]
        if img.shape[-1] == 1 and self.num_channels > 1:
            img = np.repeat(img, self.num_channels, axis=-1)
        img = np.ascontiguousarray(img)
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """The labels of all samples, in order."""
        return np.array(
            [self.get_data_info(i)['gt_label'] for i in range(len(self))]
        )


@DATASETS.register_module()
class FashionMNIST(IDXDataset):
    """Fashion-MNIST (Zalando, MIT) from its four IDX files.

    ``data_root`` holds ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``
    as the Debian package ``dataset-fashion-mnist`` installs them in
    ``/usr/share/datasets/fashion-mnist`` (``tools/misc/
    prepare_fashion_mnist.sh`` gets them without root into a cache).

    Args:
        data_root (str): The folder of the IDX files.
        split (str): ``'train'`` (60k images) or ``'test'`` (10k).
            Defaults to 'train'.
        **kwargs: Other arguments of :class:`IDXDataset` (``subset_size``,
            ``num_channels``, ``pipeline``, ...).
    """

    METAINFO = dict(
        classes=(
            'T-shirt/top',
            'Trouser',
            'Pullover',
            'Dress',
            'Coat',
            'Sandal',
            'Shirt',
            'Sneaker',
            'Bag',
            'Ankle boot',
        )
    )
    _FILES = {
        'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
        'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
    }

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        if split not in self._FILES:
            raise ValueError(
                f'unknown split {split!r}; choose from {sorted(self._FILES)}'
            )
        self.split = split
        img_file, label_file = self._FILES[split]
        super().__init__(
            data_root=data_root,
            img_file=img_file,
            label_file=label_file,
            **kwargs,
        )
