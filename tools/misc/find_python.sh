#!/usr/bin/env bash
# Sourced by tools/dist_*.sh and tools/slurm_*.sh: sets PYTHON to the
# interpreter that runs the tools. `python` on PATH is often the system one
# (without torch) when the project's virtual environment is not activated,
# so the project's .venv is preferred; PYTHON set by the user always wins.
if [ -z "${PYTHON:-}" ]; then
    _MMMIM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [ -x "${_MMMIM_ROOT}/.venv/bin/python" ]; then
        PYTHON="${_MMMIM_ROOT}/.venv/bin/python"
    else
        PYTHON=python
    fi
    unset _MMMIM_ROOT
fi
