# Copyright (c) mmmim contributors. All rights reserved.
"""What ``--resume`` continues from, and whether it may.

mmengine reads ``{work_dir}/last_checkpoint`` as an absolute path (so a
moved work dir resumes from the old folder, or fails when it is gone) and
starts from scratch, with a log line, when there is nothing to resume.
Here the path is taken relative to the work dir, a work dir without a
checkpoint is an error (or a warning by option), and the checkpoint must
come from a run of the same model that has iterations left.
"""

import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmmim.utils.safe_checkpoint import CorruptCheckpointError, safe_torch_load

__all__ = [
    'ResumeError',
    'check_resume_origin',
    'read_checkpoint_meta',
    'find_resume_checkpoint',
    'model_config_diff',
]

LAST_CHECKPOINT = 'last_checkpoint'
#: The file of a sharded checkpoint folder that holds its ``meta``
#: (``mmmim.engine.strategies.fsdp2_checkpoint.EXTRA_FILE``).
SHARDED_EXTRA = 'extra.pth'


class ResumeError(RuntimeError):
    """A resume that would not continue the run it names."""


def find_resume_checkpoint(
    work_dir: str, optional: bool = False
) -> Optional[str]:
    """The checkpoint that ``--resume`` continues in ``work_dir``.

    Args:
        work_dir (str): The run's work dir.
        optional (bool): Return None with a warning when there is nothing
            to resume, instead of raising. Defaults to False.

    Returns:
        str | None: The checkpoint file.

    Raises:
        ResumeError: If there is no checkpoint to resume from.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    found = None
    if osp.isfile(record):
        with open(record, encoding='utf-8') as f:
            recorded = f.read().strip()
        # Relative paths are relative to the work dir. An absolute one
        # (mmengine's) names this work dir's file unless the dir was moved:
        # then the file of the same name here is this run's checkpoint.
        if osp.isabs(recorded):
            candidates = (osp.join(work_dir, osp.basename(recorded)), recorded)
        else:
            candidates = (osp.join(work_dir, recorded),)
        found = next((c for c in candidates if _is_checkpoint(c)), None)
        if not recorded or found is None:
            raise ResumeError(
                f'{record} names {recorded!r}, which is neither in '
                f'{work_dir} nor at that path. Pass the checkpoint to '
                'resume from explicitly: --resume PATH.'
            )
    if found is not None:
        moved = osp.abspath(found) != osp.normpath(recorded)
        if osp.isabs(recorded) and moved:
            print_log(
                f'{record} names {recorded}; the work dir was moved, so '
                f'this run resumes from {found}',
                'current',
            )
        return found
    message = (
        f'--resume: nothing to resume in {work_dir} (no {LAST_CHECKPOINT} '
        'file). Drop --resume to start a new run, pass a checkpoint with '
        '--resume PATH, or add --resume-optional to start from scratch '
        'when there is nothing to resume.'
    )
    if not optional:
        raise ResumeError(message)
    print_log(message.replace('--resume: ', ''), 'current', level=30)
    return None


def _is_checkpoint(path: str) -> bool:
    """A checkpoint file, or the folder of a sharded checkpoint (FSDP2,
    DeepSpeed; the strategy checks that it is complete)."""
    return osp.isfile(path) or osp.isdir(path)


def read_checkpoint_meta(checkpoint: str) -> Dict[str, Any]:
    """A checkpoint's ``meta`` without reading its tensors (memory-mapped,
    so the runner's own load stays the only full read; a legacy non-zip
    file is read whole). A sharded checkpoint (a folder) keeps it in its
    small ``extra.pth``.

    Raises:
        CorruptCheckpointError: If the file is damaged.
    """
    if osp.isdir(checkpoint):
        checkpoint = osp.join(checkpoint, SHARDED_EXTRA)
        if not osp.isfile(checkpoint):  # a DeepSpeed folder
            return {}
    try:
        ckpt = safe_torch_load(checkpoint, mmap=True)
    except CorruptCheckpointError:
        raise
    except RuntimeError:  # not a zip file: it cannot be memory-mapped
        ckpt = safe_torch_load(checkpoint)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    return meta if isinstance(meta, dict) else {}


def _plain(value: Any) -> Any:
    """Tuples as lists, dicts as sorted plain dicts (for comparison)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def model_config_diff(old: dict, new: dict, prefix: str = 'model') -> List:
    """Dotted keys whose values differ between two model configs."""
    old, new = _plain(old), _plain(new)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [prefix]
    diffs = []
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            diffs.append(f'{prefix}.{key}')
        else:
            diffs += model_config_diff(old[key], new[key], f'{prefix}.{key}')
    return diffs


def check_resume_origin(
    cfg: Config, checkpoint: str, meta: Dict[str, Any]
) -> None:
    """Refuse a checkpoint of another model, or of a finished run.

    Args:
        cfg (Config): The config of the run that resumes.
        checkpoint (str): The file (for messages).
        meta (dict): The checkpoint's ``meta`` (``cfg`` text, ``iter``).

    Raises:
        ResumeError: Naming the differing model keys, or the iteration.
    """
    cfg_text = meta.get('cfg')
    if cfg_text:
        try:
            old_model = Config.fromstring(cfg_text, '.py').get('model')
        except Exception as error:  # noqa: BLE001  (an old or odd config)
            print_log(
                f'cannot read the config stored in {checkpoint} ({error}); '
                'its model is not compared with this run',
                'current',
                level=30,
            )
        else:
            diffs = model_config_diff(old_model.to_dict(), cfg.model.to_dict())
            if diffs:
                more = ' ...' if len(diffs) > 8 else ''
                shown = ', '.join(diffs[:8]) + more
                raise ResumeError(
                    f'{checkpoint} was written by a run of another model: '
                    f'{shown} differ. Resume with the config of that run, '
                    'use a new --work-dir, or pass --resume-unchecked to '
                    'resume anyway.'
                )
    train_cfg = cfg.get('train_cfg') or {}
    done = meta.get('iter')
    max_iters = train_cfg.get('max_iters')
    if done is not None and max_iters is not None and done >= max_iters:
        raise ResumeError(
            f'{checkpoint} is at iteration {done}, and this run stops at '
            f'train_cfg.max_iters={max_iters}: nothing is left to train. '
            'Raise max_iters to train longer.'
        )
