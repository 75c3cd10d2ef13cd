PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE ?= samples/multitask_digits.graph.json

.PHONY: run test lint samples bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull several GB of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ -z "$$QT_QPA_PLATFORM" ]; then \
		echo "No display found. To render the application headless, run:"; \
		echo "  QT_QPA_PLATFORM=offscreen $(BIN)/python -m gui $(SAMPLE) --screenshot window.png"; \
	else \
		$(BIN)/python -m gui $(SAMPLE); \
	fi

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

samples: $(STAMP)
	$(BIN)/python benchmarks/train_samples.py

clean:
	rm -rf $(VENV) build *.egg-info
