# pysurvbridge: every set-up step lives here and in scripts/, so a clean clone needs only `make`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
# R packages that Debian lacks (reda) or ships too old (reticulate) come from this repository
# first, then CRAN: an internal mirror, or the local CRAN-style folder beside the project
PYSURVBRIDGE_CRAN ?= $(if $(wildcard ../shared/cran/src/contrib/PACKAGES),$(abspath ../shared/cran),)
export PYSURVBRIDGE_CRAN

.PHONY: setup demo test test-r r-package docs doctor bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_r.sh scripts/install_r_extras.sh scripts/apt_install.sh scripts/setup_python.sh
	bash scripts/install_r.sh
	bash scripts/install_r_extras.sh
	bash scripts/setup_python.sh
	touch $(STAMP)

BROWSER_STAMP := $(VENV)/.browser-stamp
$(BROWSER_STAMP): scripts/install_browser.sh | $(STAMP)
	bash scripts/install_browser.sh
	touch $(BROWSER_STAMP)

# the main job: classical models and LSTM-Cox on bladder1, 3 subject splits, report.html; then
# recurrence and death on Rotterdam: per-event and multi-state Cox, DeepSurv, MENSA, report-multi-event.html
demo: setup
	$(VENV)/bin/pysurvbridge doctor || true
	$(VENV)/bin/pysurvbridge compare bladder1 --models cox,ag,wlw,pwp-total,lstm-cox,lstm-cox-paper --seeds 3 --out report.html
	$(VENV)/bin/pysurvbridge compare rotterdam-multi --seeds 3 --out report-multi-event.html

# the import-linter contracts of docs/architecture.md, pytest, then R CMD check of the R package
# (scripts/test_r.sh: rcmdcheck builds r/ with its vignette and checks the tarball --no-manual, its
# testthat tests and test-install.R included, with SURVBRIDGE_PYTHON=$(CURDIR)/$(PY)); it prints
# "R CMD check: Status: OK ..." and "R tests (testthat): N passed, ...", and fails on any
# ERROR, WARNING or NOTE. pytest runs on two workers (pytest-xdist, whole files per worker, the
# longest files first: tests/conftest.py), each single-threaded (OMP_NUM_THREADS=1: two workers with
# two torch threads each on two cores ran 40% slower than one). RUN_SLOW=1 runs the tests marked
# slow, which a plain `pytest` skips: tests/test_wheel.py (about 80 s: it builds the sdist and the
# wheel, installs the wheel into a fresh venv without R and runs the CLI there)
test: setup $(BROWSER_STAMP)
	$(VENV)/bin/lint-imports
	RUN_SLOW=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadfile tests
	SURVBRIDGE_PYTHON=$(CURDIR)/$(PY) bash scripts/test_r.sh

# the documentation site into docs/_build/html (scripts/build_docs.sh): Sphinx with the guide, the
# API reference and the five Python vignettes executed in full mode, warnings as errors; then the R
# package's pkgdown site into docs/_build/html/r. `DOCS_FAST=1 make docs` runs the vignettes with
# fewer seeds and epochs, as tests/test_docs.py does inside `make test`
docs: setup
	bash scripts/build_docs.sh docs/_build/html

test-r: setup
	SURVBRIDGE_PYTHON=$(CURDIR)/$(PY) bash scripts/test_r.sh

# the R package survbridge for R users, into R's default library (it finds this .venv by itself)
r-package: setup
	R CMD INSTALL r

bench: setup
	$(PY) -m pip install -q -e ".[dev,bench]"
	$(PY) benchmarks/bench_classical.py
	$(PY) benchmarks/bench_nnet_survival.py
	$(PY) benchmarks/nnet_survival_paper.py
	$(PY) benchmarks/deepsurv_minibatch.py
	$(PY) benchmarks/mensa_rotterdam.py
	$(PY) benchmarks/coxvae_paper.py
	$(PY) benchmarks/nnet_survival_support.py
	$(PY) benchmarks/out_of_core.py
	$(PY) benchmarks/distributed_scaling.py
	$(PY) benchmarks/sklearn_overhead.py
	$(PY) benchmarks/parallel_cells.py
	$(PY) benchmarks/verdict.py --data support --seeds 10 --tune none --n-jobs 2
	$(PY) benchmarks/verdict.py --data rotterdam-multi --seeds 10 --tune none --n-jobs 2
	$(PY) benchmarks/verdict.py --data rotterdam-multi --seeds 5 --tune default --trials 20 --folds 3 --n-jobs 2
	@if ! command -v Rscript >/dev/null 2>&1; then \
	  echo "benchmarks/r_overhead.R skipped: Rscript not found (scripts/install_r.sh installs R)"; \
	elif ! Rscript -e "quit(status = !(requireNamespace('reticulate', quietly = TRUE) && packageVersion('reticulate') >= '1.31'))" >/dev/null 2>&1; then \
	  echo "benchmarks/r_overhead.R skipped: survbridge needs reticulate >= 1.31 (make setup installs it)"; \
	else \
	  mkdir -p $(VENV)/Rlib && \
	  R_LIBS=$(CURDIR)/$(VENV)/Rlib R CMD INSTALL --no-test-load --library=$(CURDIR)/$(VENV)/Rlib r >$(VENV)/Rlib/install.log 2>&1 || { cat $(VENV)/Rlib/install.log; exit 1; }; \
	  R_LIBS=$(CURDIR)/$(VENV)/Rlib Rscript benchmarks/r_overhead.R; \
	fi

doctor: setup
	$(VENV)/bin/pysurvbridge doctor

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info r/inst/python-path
