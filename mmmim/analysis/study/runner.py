# Copyright (c) mmmim contributors. All rights reserved.
"""Run a study: pre-train, then kNN, linear probe and fine-tune each run.

Every stage of every run writes ``WORK_DIR/<run>/<stage>.json`` when it
finishes, and a stage whose file exists is not run again; a training
stage that was interrupted resumes from its last checkpoint
(``tools/train.py --resume``). So a study stopped at any point continues
where it stopped when the same command is run again.

Training stages are ``tools/train.py`` runs on a config written into the
stage's folder (``config.py``), started directly, through
``tools/dist_train.sh`` or through ``tools/slurm_train.sh``.
"""

import json
import logging
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from .probes import knn_probe, linear_probe
from .scale import scale_config
from .spec import RunSpec, StudySpec, baseline_runs

__all__ = ['Launcher', 'StudyRunner']


def find_resource_root(package_dir: str) -> str:
    """Where ``tools/`` and ``configs/`` are: the checkout above the
    package (a clone or an editable install), else the copy a wheel
    install keeps in ``mmmim/.mim``.

    Args:
        package_dir (str): The ``mmmim`` package folder.

    Returns:
        str: The folder holding ``tools/train.py`` (the checkout when
        neither does, so that the error names the usual place).
    """
    checkout = osp.dirname(package_dir)
    for root in (checkout, osp.join(package_dir, '.mim')):
        if osp.isfile(osp.join(root, 'tools', 'train.py')):
            return root
    return checkout


REPO = find_resource_root(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
)


@dataclass
class Launcher:
    """How training stages start.

    Attributes:
        kind (str): ``'local'`` (``python tools/train.py``), ``'dist'``
            (``tools/dist_train.sh CONFIG GPUS``) or ``'slurm'``
            (``tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR``).
        gpus (int): Processes per run for ``dist`` and ``slurm``.
        partition (str): The Slurm partition.
        threads (int, optional): ``OMP_NUM_THREADS`` of every stage (and
            of the probes in this process).
    """

    kind: str = 'local'
    gpus: int = 1
    partition: Optional[str] = None
    threads: Optional[int] = None

    def __post_init__(self):
        if self.kind not in ('local', 'dist', 'slurm'):
            raise ValueError(
                f'launcher must be local, dist or slurm, got {self.kind!r}'
            )
        if self.kind == 'slurm' and not self.partition:
            raise ValueError('the slurm launcher needs --partition')

    def command(
        self, config: str, work_dir: str, job: str, resume: bool
    ) -> List[str]:
        extra = ['--resume'] if resume else []
        if self.kind == 'local':
            return [
                sys.executable,
                osp.join(REPO, 'tools', 'train.py'),
                config,
                '--work-dir',
                work_dir,
                *extra,
            ]
        if self.kind == 'dist':
            script = osp.join(REPO, 'tools', 'dist_train.sh')
            return [
                'bash',
                script,
                config,
                str(self.gpus),
                '--work-dir',
                work_dir,
                *extra,
            ]
        script = osp.join(REPO, 'tools', 'slurm_train.sh')
        return ['bash', script, self.partition, job, config, work_dir, *extra]

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (REPO, env.get('PYTHONPATH')) if p
        )
        if self.kind == 'slurm':
            env['GPUS'] = str(self.gpus)
        if self.threads:
            env['OMP_NUM_THREADS'] = str(self.threads)
        return env


def _scalars(work_dir: str) -> List[dict]:
    records = []
    for root, _, files in sorted(os.walk(work_dir)):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                records.extend(json.loads(line) for line in f if line.strip())
    return records


def _last(records: List[dict], key: str) -> float:
    values = [r[key] for r in records if key in r]
    if not values:
        raise RuntimeError(f'no {key!r} in the logged scalars')
    return float(values[-1])


def _median_step(records: List[dict]) -> float:
    """Median seconds per training iteration (the logger's ``time``)."""
    times = [r['time'] for r in records if 'time' in r and 'loss' in r]
    return float(statistics.median(times)) if times else float('nan')


def _write_json(path: str, data: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


class StudyRunner:
    """Run the stages of a study, skipping those already finished.

    Args:
        study (StudySpec): The study.
        work_dir (str): Where every run's stages write.
        data_root (str): The folder of the Fashion-MNIST IDX files; set as
            ``data_root`` of every dataset the study builds.
        launcher (Launcher): How training stages start.
        log (callable): Progress messages.
    """

    def __init__(
        self,
        study: StudySpec,
        work_dir: str,
        data_root: str,
        launcher: Launcher = None,
        log: Callable[[str], None] = print,
    ):
        self.study = study
        self.work_dir = osp.abspath(work_dir)
        self.data_root = data_root
        self.launcher = launcher or Launcher()
        self.log = log
        self._arrays: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = {}

    # -- configs ------------------------------------------------------------
    def _set_data_root(self, cfg: Config) -> None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            loader = cfg.get(key)
            if loader and loader.get('dataset'):
                loader.dataset.data_root = self.data_root

    def pretrain_config(self, run: RunSpec) -> Config:
        """The scaled pre-training config of ``run``."""
        cfg = scale_config(
            osp.join(REPO, run.config),
            self.study.scales[run.scale],
            run.options,
        )
        # Repository-relative, so dumped configs name no machine's paths.
        cfg.study_source = run.config
        self._set_data_root(cfg)
        return cfg

    def finetune_config(
        self,
        run: RunSpec,
        checkpoint: Optional[str],
        epochs: Optional[int] = None,
    ) -> Config:
        """Fine-tuning config of ``run``'s encoder (``checkpoint=None``:
        random init, layer decay off as it is a prior for pre-trained
        weights)."""
        spec = dict(self.study.finetune, **(run.finetune or {}))
        cfg = Config.fromfile(osp.join(REPO, spec['config']))
        if spec.get('options'):
            cfg.merge_from_dict(spec['options'])
        epochs = epochs or spec.get('epochs') or cfg.train_cfg.max_epochs
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
        cfg.param_scheduler[-1].end = epochs
        if cfg.param_scheduler[-1].get('begin', 0) >= epochs:
            raise ValueError(
                f'{spec["config"]}: {epochs} fine-tuning epochs leave no '
                'room after its warm-up; give the study more epochs'
            )
        cfg.default_hooks.checkpoint.interval = 1
        cfg.default_hooks.checkpoint.max_keep_ckpts = 1
        backbone = cfg.model.backbone
        if checkpoint is None:
            backbone.init_cfg = None
            paramwise = cfg.optim_wrapper.get('paramwise_cfg', {})
            if 'layer_decay_rate' in paramwise:
                paramwise.layer_decay_rate = 1.0
        else:
            backbone.init_cfg = dict(
                type='Pretrained', checkpoint=checkpoint, prefix='backbone.'
            )
        self._set_data_root(cfg)
        return cfg

    # -- stages -------------------------------------------------------------
    def _stage_path(self, run_name: str, stage: str) -> str:
        return osp.join(self.work_dir, run_name, f'{stage}.json')

    def _done(self, run_name: str, stage: str) -> Optional[dict]:
        path = self._stage_path(run_name, stage)
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
        return None

    def _stage(self, run_name: str, stage: str, fn: Callable[[], dict]):
        done = self._done(run_name, stage)
        if done is not None:
            self.log(f'{run_name}/{stage}: done before, skipped')
            return done
        os.makedirs(osp.join(self.work_dir, run_name), exist_ok=True)
        start = time.time()
        result = fn()
        result['minutes'] = result.get('minutes', (time.time() - start) / 60)
        _write_json(self._stage_path(run_name, stage), result)
        self.log(f'{run_name}/{stage}: {json.dumps(result)}')
        return result

    def _train(self, cfg: Config, work_dir: str, job: str) -> dict:
        os.makedirs(work_dir, exist_ok=True)
        cfg_path = osp.join(work_dir, 'config.py')
        cfg.dump(cfg_path)
        resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
        cmd = self.launcher.command(cfg_path, work_dir, job, resume)
        log_path = osp.join(work_dir, 'stdout.log')
        self.log(f'{job}: {" ".join(cmd)} (log: {log_path})')
        start = time.time()
        with open(log_path, 'a') as f:
            proc = subprocess.run(
                cmd,
                cwd=REPO,
                env=self.launcher.env(),
                stdout=f,
                stderr=subprocess.STDOUT,
            )
        # Wall time over every attempt of this stage (a resumed run adds
        # its time to the interrupted ones').
        spent_path = osp.join(work_dir, 'seconds_spent')
        spent = time.time() - start
        if osp.isfile(spent_path):
            with open(spent_path) as f:
                spent += float(f.read().strip() or 0)
        with open(spent_path, 'w') as f:
            f.write(f'{spent:.1f}\n')
        if proc.returncode != 0:
            with open(log_path) as f:
                tail = f.read()[-3000:]
            raise RuntimeError(
                f'{job} failed (exit {proc.returncode}); rerun the study to '
                f'resume it. Log tail:\n{tail}'
            )
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        records = _scalars(work_dir)
        return dict(
            checkpoint=checkpoint,
            epochs=cfg.train_cfg.max_epochs,
            sec_per_iter=_median_step(records),
            minutes=spent / 60,
            records=records,
        )

    def pretrain(self, run: RunSpec) -> dict:
        def fn():
            cfg = self.pretrain_config(run)
            out = self._train(
                cfg,
                osp.join(self.work_dir, run.name, 'pretrain'),
                f'{self.study.name}_{run.name}_pretrain',
            )
            records = out.pop('records')
            out['final_loss'] = _last(records, 'loss')
            out['source'] = run.config
            return out

        return self._stage(run.name, 'pretrain', fn)

    def finetune(
        self,
        run: RunSpec,
        stage: str,
        checkpoint: Optional[str],
        epochs: Optional[int] = None,
    ) -> dict:
        def fn():
            cfg = self.finetune_config(run, checkpoint, epochs)
            out = self._train(
                cfg,
                osp.join(self.work_dir, run.name, stage),
                f'{self.study.name}_{run.name}_{stage}',
            )
            records = out.pop('records')
            out['top1'] = _last(records, 'accuracy/top1')
            return out

        return self._stage(run.name, stage, fn)

    # -- probes -------------------------------------------------------------
    def arrays(self, split: str) -> Tuple[torch.Tensor, torch.Tensor]:
        """Images ``[N, C, H, W]`` (float, 0-255) and labels ``[N]`` of
        the fine-tuning config's dataset split ('train' or 'test')."""
        if split not in self._arrays:
            from mmmim.registry import DATASETS
            from mmmim.utils import register_all_modules

            register_all_modules()
            cfg = Config.fromfile(
                osp.join(REPO, self.study.finetune['config'])
            )
            if self.study.finetune.get('options'):
                cfg.merge_from_dict(self.study.finetune['options'])
            loader = (
                cfg.train_dataloader
                if split == 'train'
                else cfg.val_dataloader
            )
            dataset_cfg = dict(
                loader.dataset, data_root=self.data_root, pipeline=[]
            )
            dataset = DATASETS.build(dataset_cfg)
            infos = [dataset.get_data_info(i) for i in range(len(dataset))]
            imgs = np.stack([info['img'] for info in infos])
            labels = torch.tensor([int(info['gt_label']) for info in infos])
            images = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
            self._arrays[split] = (images, labels)
        return self._arrays[split]

    def _probe_both(
        self,
        candidates: Dict[str, Tuple[torch.Tensor, torch.Tensor]],
        train_y: torch.Tensor,
        test_y: torch.Tensor,
        settings: Optional[dict] = None,
    ) -> dict:
        """kNN and linear probe of each candidate representation
        (``{name: (train [N, D], test [M, D])}``); each probe reports the
        candidate with the best validation top-1 (the test set plays no
        part in any choice)."""
        settings = settings or self.study.probe
        # A candidate may be read by some probes only ('probes' key).
        read_by = {
            spec['name']: tuple(spec['probes'])
            for spec in settings.get('features', [])
            if 'probes' in spec
        }
        num_val = min(settings.get('num_val', 10000), len(train_y) // 5)
        probes = dict(
            knn=lambda tx, qx: knn_probe(
                tx,
                train_y,
                qx,
                test_y,
                ks=settings.get('knn_ks', (5, 10, 20, 50)),
                temperature=settings.get('knn_temperature', 0.07),
                num_val=num_val,
            ),
            linear=lambda tx, qx: linear_probe(
                tx,
                train_y,
                qx,
                test_y,
                weight_decays=settings.get(
                    'weight_decays', (1e-4, 1e-3, 1e-2, 1e-1)
                ),
                num_val=num_val,
            ),
        )
        out = {}
        for kind, fn in probes.items():
            best, validation = None, {}
            for name, (train_x, test_x) in candidates.items():
                if kind not in read_by.get(name, (kind,)):
                    continue
                result = fn(train_x, test_x)
                validation[name] = max(result.validation.values())
                if best is None or validation[name] > best[1]:
                    best = (name, validation[name], result, train_x.shape[1])
            name, _, result, dims = best
            out[kind] = result.top1
            out[f'{kind}_detail'] = dict(
                asdict(result),
                feature=name,
                feature_dims=int(dims),
                validation_by_feature=validation,
            )
        return out

    @torch.no_grad()
    def features(
        self, run: RunSpec, checkpoint: Optional[str]
    ) -> Tuple[
        Dict[str, Tuple[torch.Tensor, torch.Tensor]],
        torch.Tensor,
        torch.Tensor,
    ]:
        """Frozen encoder features of the train and test images, one pair
        per candidate of ``study.probe['features']`` (default: the pooled
        patch tokens after the final norm), and the labels."""
        from mmmim.apis.features import (
            _num_outputs,
            encode_pools,
            get_backbone,
        )
        from mmmim.registry import MODELS
        from mmmim.utils import register_all_modules, safe_torch_load

        register_all_modules()
        cfg = self.pretrain_config(run)
        torch.manual_seed(cfg.get('randomness', {}).get('seed', 0) or 0)
        model = MODELS.build(cfg.model)
        if checkpoint is None:
            # The per-parameter init report would flood the study's log.
            logger = MMLogger.get_current_instance()
            level = logger.level
            logger.setLevel(logging.WARNING)
            try:
                model.init_weights()
            finally:
                logger.setLevel(level)
        else:
            state = safe_torch_load(checkpoint)['state_dict']
            model.load_state_dict(state, strict=True)
        model.eval()
        prep = cfg.model.data_preprocessor
        mean = torch.tensor(prep.mean).view(1, -1, 1, 1)
        std = torch.tensor(prep.std).view(1, -1, 1, 1)
        specs = self.probe_settings(run).get(
            'features', [dict(name='last', pool='avg', out_indices=[-1])]
        )
        # Negative indices count from the end: -1 and the last block are
        # one feature, read once.
        total = _num_outputs(get_backbone(model))
        specs = [
            dict(spec, out_indices=[i % total for i in spec['out_indices']])
            for spec in specs
        ]
        wanted: Dict[str, List[int]] = {}
        for spec in specs:
            indices = wanted.setdefault(spec['pool'], [])
            indices += [i for i in spec['out_indices'] if i not in indices]
        batch = self.probe_settings(run).get('batch_size', 500)
        per_split = []
        for split in ('train', 'test'):
            images, labels = self.arrays(split)
            feats = {(p, i): [] for p, idx in wanted.items() for i in idx}
            for start in range(0, len(images), batch):
                x = (images[start : start + batch] - mean) / std
                # One forward pass for every pool and block.
                outs = encode_pools(model, x, wanted)
                for pool, indices in wanted.items():
                    for i, f in zip(indices, outs[pool]):
                        feats[(pool, i)].append(f)
            # Token maps [N, D, h, w] are read flattened, [N, D * h * w].
            per_split.append(
                {k: torch.cat(v).flatten(1) for k, v in feats.items()}
            )
        candidates = {
            spec['name']: tuple(
                torch.cat(
                    [f[(spec['pool'], i)] for i in spec['out_indices']], 1
                )
                for f in per_split
            )
            for spec in specs
        }
        return candidates, self.arrays('train')[1], self.arrays('test')[1]

    def probe_settings(self, run: RunSpec) -> dict:
        """The study's probe settings updated by the run's own."""
        return dict(self.study.probe, **(run.probe or {}))

    def probe(self, run: RunSpec, stage: str, checkpoint: Optional[str]):
        return self._stage(
            run.name,
            stage,
            lambda: self._probe_both(
                *self.features(run, checkpoint), self.probe_settings(run)
            ),
        )

    # -- the study ----------------------------------------------------------
    def run_one(self, run: RunSpec) -> Dict[str, dict]:
        pre = self.pretrain(run)
        checkpoint = (
            osp.join(self.work_dir, run.name, 'pretrain', pre['checkpoint'])
            if not osp.isabs(pre['checkpoint'])
            else pre['checkpoint']
        )
        return dict(
            pretrain=pre,
            probe=self.probe(run, 'probe', checkpoint),
            finetune=self.finetune(run, 'finetune', checkpoint),
        )

    def run_baselines(
        self, names: Optional[List[str]] = None
    ) -> Dict[str, dict]:
        """Run the study's baselines (``names``: only these result names,
        e.g. ``baseline_pixels``)."""
        out = {}
        for name, run_name in baseline_runs(self.study.baselines).items():
            if names is not None and name not in names:
                continue
            if name == 'baseline_pixels':
                out[name] = self._stage(
                    name,
                    'probe',
                    lambda: self._probe_both(
                        {'pixels': (self._flat('train'), self._flat('test'))},
                        self.arrays('train')[1],
                        self.arrays('test')[1],
                    ),
                )
                continue
            run = self.study.run(run_name)
            named = RunSpec(**dict(asdict(run), name=name))
            if name == 'baseline_supervised':
                pre_epochs = self.pretrain_config(run).train_cfg.max_epochs
                ft_epochs = self.finetune_config(
                    run, None
                ).train_cfg.max_epochs
                out[name] = dict(
                    finetune=self.finetune(
                        named, 'finetune', None, pre_epochs + ft_epochs
                    )
                )
            else:  # random init: the run's encoder, untrained
                out[name] = dict(
                    probe=self.probe(named, 'probe', None),
                    finetune=self.finetune(named, 'finetune', None),
                )
        return out

    def _flat(self, split: str) -> torch.Tensor:
        # Raw pixels [N, H * W]: one grey channel (the three are copies).
        return self.arrays(split)[0][:, 0].flatten(1)

    def run(self, only: Optional[List[str]] = None) -> Dict[str, dict]:
        """Run the baselines and the runs (``only``: these runs, no
        baselines unless named as ``baseline_<name>``)."""
        if self.launcher.threads:
            torch.set_num_threads(self.launcher.threads)
        results = {}
        wanted = set(only or [])
        known = {r.name for r in self.study.runs} | set(
            baseline_runs(self.study.baselines)
        )
        if wanted - known:
            raise KeyError(
                f'unknown runs {sorted(wanted - known)}; known: '
                f'{sorted(known)}'
            )
        baselines = (
            [n for n in wanted if n.startswith('baseline_')] if only else None
        )
        results.update(self.run_baselines(baselines))
        for run in self.study.runs:
            if not only or run.name in wanted:
                results[run.name] = self.run_one(run)
        return results
