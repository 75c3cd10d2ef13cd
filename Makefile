PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE ?= samples/multitask_digits.graph.json

.PHONY: run test lint samples bench clean platform-libs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull several GB of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Qt's X11 plugin links to X client libraries that pip cannot bring; as root they are
# installed, otherwise the one apt command is printed.
platform-libs: $(STAMP)
	@missing="$$($(BIN)/python -m gui.platform_libs --packages)"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing what Qt's X11 plugin needs: $$missing"; \
		apt-get install -y -qq $$missing >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; }; \
	else \
		echo "Qt's X11 plugin needs system libraries; install them with:"; \
		echo "  sudo apt-get install $$missing"; \
	fi

run: $(STAMP)
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ -z "$$QT_QPA_PLATFORM" ]; then \
		echo "No display found. To render the application headless, run:"; \
		echo "  QT_QPA_PLATFORM=offscreen $(BIN)/python -m gui $(SAMPLE) --screenshot window.png"; \
	else \
		$(MAKE) --no-print-directory platform-libs && $(BIN)/python -m gui $(SAMPLE); \
	fi

# Two worker processes: many tests wait on subprocesses or the event loop, so two keep both
# cores busy.
test: $(STAMP)
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

samples: $(STAMP)
	$(BIN)/python benchmarks/train_samples.py

clean:
	rm -rf $(VENV) build *.egg-info
