# Copyright (c) mmmim contributors. All rights reserved.
"""Save reconstruction figures while a masked image model trains."""

import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmmim.registry import HOOKS

__all__ = ['ReconstructionVisHook']


@HOOKS.register_module()
class ReconstructionVisHook(Hook):
    """Save reconstruction panels of fixed images every ``interval`` iters.

    Each figure has a row per image (original | masked | reconstruction |
    reconstruction with the visible patches pasted back). The images and
    their masks stay fixed during the run (a private seeded generator, so
    the training RNG is untouched), which makes figures of different
    iterations comparable. Figures are written as
    ``{out_dir}/iter_{N}.png`` and, after training, ``{out_dir}/final.png``,
    by the main process only.

    Args:
        interval (int): Save every ``interval`` training iterations; 0 or
            less saves only after training. Defaults to 1000.
        img_paths (str | Sequence[str]): Image files and/or folders
            (searched recursively). Defaults to 'data/demo/val'.
        out_dir (str, optional): Output folder. Defaults to None, which
            means ``{work_dir}/reconstructions``.
        max_images (int): Use at most this many images. Defaults to 8.
        mask_ratio (float, optional): Random masking at this ratio instead
            of the model's mask generator. Defaults to None.
        seed (int): Seed of the masks. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(
        self,
        interval: int = 1000,
        img_paths: Union[str, Sequence[str]] = 'data/demo/val',
        out_dir: Optional[str] = None,
        max_images: int = 8,
        mask_ratio: Optional[float] = None,
        seed: int = 0,
    ) -> None:
        self.interval = interval
        self.img_paths = img_paths
        self.out_dir = out_dir
        self.max_images = max_images
        self.mask_ratio = mask_ratio
        self.seed = seed
        self._files: List[str] = []

    def before_train(self, runner) -> None:
        """Resolve the images and the output folder (fails early)."""
        from mmmim.visualization import list_images

        self._files = list_images(self.img_paths)[: self.max_images]
        if self.out_dir is None:
            self.out_dir = osp.join(runner.work_dir, 'reconstructions')

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Save a figure every ``interval`` iterations."""
        if self.interval > 0 and self.every_n_train_iters(
            runner, self.interval
        ):
            self._save(runner, f'iter_{runner.iter + 1}.png')

    def after_train(self, runner) -> None:
        """Save the figure of the trained model."""
        self._save(runner, 'final.png')

    def _save(self, runner, name: str) -> None:
        """Reconstruct the images with the current weights and save."""
        if not is_main_process() or not self._files:
            return
        from mmmim.visualization import reconstruct_images, save_panels

        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        panels, caption = reconstruct_images(
            model, self._files, self.mask_ratio, self.seed
        )
        out_file = osp.join(self.out_dir, name)
        labels = [osp.basename(path) for path in self._files]
        save_panels(panels, out_file, row_labels=labels, caption=caption)
        runner.logger.info(f'saved reconstructions to {out_file}')
