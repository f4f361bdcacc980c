# Two commands do all set-up:  `make demo`  and  `make test`.
# Each creates .venv and installs what it needs the first time (Python 3 and make are enough).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-browser test-torch lint format docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the main job: attention stage by stage, printed and drawn; the explorer page
	$(BIN)/tinygrad-attn walkthrough
	@echo
	$(BIN)/tinygrad-attn explore
	@echo
	@echo "Next, try (or run '. .venv/bin/activate' once, then leave out the .venv/bin/):"
	@echo '  .venv/bin/tinygrad-attn walkthrough --sentence "the cat sat on the mat" --heads 3'
	@echo '  .venv/bin/tinygrad-attn explore --sentence "the cat sat on the mat" --open'
	@echo "  .venv/bin/tinygrad-attn graph --example multi-head --highlight w_q"
	@echo "  .venv/bin/tinygrad-attn train"
	@echo "  .venv/bin/python demos/01_value_and_backprop.py"

test: $(STAMP)  ## every check: lint, format, tests and doctests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not torch"

test-torch: $(STAMP)  ## the comparisons with PyTorch (installs its CPU build into .venv)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pytest -m torch tests/test_torch_*.py tinygrad_attn/interop.py

test-browser: $(STAMP)  ## the explorer page in headless Chromium and Firefox (installs them, Playwright)
	@if [ ! -x /usr/bin/chromium ] || ! command -v firefox-esr >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium firefox-esr; \
		else \
			echo "make test-browser needs Chromium and Firefox: run 'sudo apt-get install chromium" \
				"firefox-esr' (Debian, Ubuntu), then make test-browser again"; \
			exit 1; \
		fi; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,browser]'
	REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/test_explorer_browser.py tests/test_explorer_firefox.py

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)  ## rewrite files in the house format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)  ## regenerate every figure in docs/assets from the code
	$(BIN)/python docs/make_figures.py

bench: $(STAMP)  ## speed and memory tables (micrograd is installed for comparison)
	-$(BIN)/python -m pip install --quiet --disable-pip-version-check micrograd
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .hypothesis
