# Copyright (c) mmmim contributors. All rights reserved.
"""Run a study: pre-training runs derived from released configs, each read
out by kNN, a linear probe and fine-tuning, next to the baselines; then a
results table (CSV + Markdown) and the figures (PNG).

Example (the Fashion-MNIST study of docs/en/study.md, 2 CPU cores)::

    python tools/analysis_tools/mim_study.py \\
        configs/studies/mae-main_vit-mini-p4_fashion-mnist.py \\
        --work-dir work_dirs/study_main

Run the same command again after an interruption: finished stages are
skipped and an interrupted training resumes from its last checkpoint.
``--runs`` picks runs (``baseline_pixels``, ``baseline_random``, or
``baseline_random_<run>`` when the study lists several, and
``baseline_supervised`` for the baselines); ``--report-only`` writes the
table and figures of what has finished. On a cluster, ``--launcher dist
--gpus 8`` starts each training through tools/dist_train.sh and
``--launcher slurm --partition P --gpus 8`` through tools/slurm_train.sh.
"""

import argparse
import os
import os.path as osp
import subprocess
import sys
import time

from mmmim.analysis.study import (
    Launcher,
    StudyRunner,
    collect_rows,
    load_study,
    write_figures,
    write_table,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYSTEM_ROOT = '/usr/share/datasets/fashion-mnist'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study', help='study file (configs/studies/...)')
    parser.add_argument('--work-dir', help='default: work_dirs/<study>')
    parser.add_argument(
        '--data-root',
        help='folder of the Fashion-MNIST IDX files (default: the Debian '
        'package, else tools/misc/prepare_fashion_mnist.sh)',
    )
    parser.add_argument('--runs', nargs='+', help='only these runs')
    parser.add_argument(
        '--launcher', choices=['local', 'dist', 'slurm'], default='local'
    )
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument(
        '--threads', type=int, help='OMP_NUM_THREADS of every stage'
    )
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='write the table and figures of the finished stages only',
    )
    return parser.parse_args(argv)


def find_data_root(data_root=None) -> str:
    def complete(root):
        return all(
            osp.isfile(osp.join(root, f)) or osp.isfile(osp.join(root, f[:-3]))
            for f in (
                'train-images-idx3-ubyte.gz',
                't10k-images-idx3-ubyte.gz',
            )
        )

    if data_root:
        if not complete(data_root):
            sys.exit(f'error: {data_root} lacks the Fashion-MNIST IDX files')
        return data_root
    if complete(SYSTEM_ROOT):
        return SYSTEM_ROOT
    script = osp.join(REPO, 'tools', 'misc', 'prepare_fashion_mnist.sh')
    proc = subprocess.run(
        ['bash', script], capture_output=True, text=True, check=False
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not complete(lines[-1]):
        sys.exit('error: could not prepare Fashion-MNIST:\n' + proc.stderr)
    return lines[-1]


def log(msg: str) -> None:
    print(f'[mim_study {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def main(argv=None) -> None:
    args = parse_args(argv)
    study = load_study(args.study)
    work_dir = args.work_dir or osp.join('work_dirs', study.name)
    os.makedirs(work_dir, exist_ok=True)
    if not args.report_only:
        runner = StudyRunner(
            study,
            work_dir,
            find_data_root(args.data_root),
            Launcher(args.launcher, args.gpus, args.partition, args.threads),
            log=log,
        )
        start = time.time()
        runner.run(args.runs)
        log(f'study ran {(time.time() - start) / 60:.1f} min')
    rows = collect_rows(study, work_dir)
    paths = write_table(rows, work_dir)
    figures = write_figures(rows, osp.join(work_dir, 'figures'))
    with open(paths['markdown']) as f:
        print(f.read())
    log(f'table: {paths["csv"]}, {paths["markdown"]}; figures: {figures}')


if __name__ == '__main__':
    main()
