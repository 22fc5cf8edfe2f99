# Two commands are all a fresh machine needs: `make demo` and `make test`.
# Both create .venv (once; again only when a pyproject.toml changes) and install into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
LINT_STAMP := $(VENV)/.installed-lint
PLUGINS := $(sort $(wildcard plugins/*/pyproject.toml))
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(PLUGINS))
# Each plugin is installed with its own `test` extra (reference packages its tests compare with).
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test fuzz lint docs bench bench-quick clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "xaikit needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(PLUGINS)
	$(BIN)/python -m pip install --quiet -e ".[test,viz,beam]" $(foreach d,$(PLUGIN_DIRS),-e "$(d)[test]")
	@touch $@

# The docs toolchain (mkdocs, material, mkdocstrings) only for `make docs`, once.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	@touch $@

demo: $(STAMP)
	$(BIN)/xaikit demo --out demo-output

test: $(STAMP)
	$(BIN)/python -m pytest -q tests $(PLUGIN_DIRS)

# The property-based tests with many random cases (make test runs a few, derandomized).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_properties.py

# Lint, format and type checks, with the tools pinned in the `lint` extra (CI runs this).
$(LINT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[lint]"
	@touch $@

lint: $(LINT_STAMP)
	$(BIN)/ruff check xaikit tests plugins benchmarks
	$(BIN)/ruff format --check xaikit tests plugins benchmarks
	$(BIN)/mypy

# The documentation site (site/), warnings as errors.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) demo-output site build *.egg-info
