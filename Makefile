# trustmap — developer entry points. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TM := $(VENV)/bin/trustmap
EXTRAS ?= dev,observe,server,spark,lab
EXAMPLE := examples/online-boutique
OUT ?= out
NOW ?= 2026-11-23
# A demo step whose findings are the point exits 1; anything else (2: bad input) still fails the demo.
EXPECTED = { test $$? -eq 1 && echo "  (exit 1: findings reported, as this demo step expects)"; }

.PHONY: install system tools nca demo test lint golden bench clean help sanitize

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install: $(VENV)/.installed  ## create .venv and install trustmap with its extras

$(VENV)/.installed: pyproject.toml setup.py src/trustmap/observe/formats/_hubblescan.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

# network-config-analyzer (IBM np-guard), the outside oracle of tests/dialects/test_compile_oracle.py. It pins old
# dependencies, so it gets a virtualenv of its own.
NCA_VENV ?= .venv-nca
NCA_REQUIREMENT ?= network-config-analyzer==2.1.0

nca: $(NCA_VENV)/bin/nca  ## install the nca oracle into .venv-nca (make test does)

$(NCA_VENV)/bin/nca:
	$(PYTHON) -m venv $(NCA_VENV)
	$(NCA_VENV)/bin/python -m pip install --quiet '$(NCA_REQUIREMENT)'
	test -x $@

system:  ## install the Debian packages the tests need (PostgreSQL, Chromium) when missing
	bash scripts/setup-system.sh

tools: tools/mermaid/node_modules/.installed  ## Mermaid's CLI for the graph tests (npm, uses Debian's chromium)

tools/mermaid/node_modules/.installed: tools/mermaid/package.json tools/mermaid/package-lock.json
	cd tools/mermaid && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install  ## validate the Online Boutique example, ask it questions, draw it
	$(TM) validate $(EXAMPLE) --now $(NOW)
	$(TM) query callers default/cartservice $(EXAMPLE) --now $(NOW)
	$(TM) query dependents productcatalogservice $(EXAMPLE) --now $(NOW)
	$(TM) query path loadgenerator redis-cart $(EXAMPLE) --now $(NOW)
	$(TM) query exposed $(EXAMPLE) --now $(NOW)
	$(TM) explain frontend cartservice $(EXAMPLE) --now $(NOW)
	$(TM) explain adservice cartservice $(EXAMPLE) --now $(NOW) || $(EXPECTED)
	mkdir -p $(OUT)
	$(TM) graph $(EXAMPLE) --format html -o $(OUT)/online-boutique.html --now $(NOW)
	@echo "open $(OUT)/online-boutique.html in a browser to see the graph"
	@# exits 1 by design: kubernetes NetworkPolicy cannot enforce gRPC methods (TM301 findings);
	@# --manifests: the workloads' probes, so no target's output blocks a kubelet probe
	$(TM) compile $(EXAMPLE) --target all --environment prod --now $(NOW) --manifests $(EXAMPLE)/manifests --out $(OUT)/compiled || $(EXPECTED)
	@echo "compiled policies for every target are under $(OUT)/compiled/"
	@# the compiled Istio and Cilium L7 rules on a real Envoy (127.0.0.1 only): real requests, expected vs observed
	$(TM) lab $(EXAMPLE) --target istio --environment prod --manifests $(EXAMPLE)/manifests --now $(NOW) --differences
	$(TM) lab $(EXAMPLE) --target cilium --environment prod --manifests $(EXAMPLE)/manifests --now $(NOW) --differences
	@# the compiled output a week before the qa grant expires: TM441 names the owners to ask
	$(TM) validate $(EXAMPLE) --compiled $(OUT)/compiled --now 2027-09-23 -q
	rm -f $(OUT)/flows.duckdb
	$(TM) observe ingest $(EXAMPLE)/flows/observed.csv --format csv --db $(OUT)/flows.duckdb
	@# drift exits 1 by design: the sample flows hold one undeclared call, one dropped call and one undeclared egress
	$(TM) drift $(EXAMPLE) --db $(OUT)/flows.duckdb --trend day --now $(NOW) || $(EXPECTED)
	$(TM) drift $(EXAMPLE) --db $(OUT)/flows.duckdb --trend day --now $(NOW) --format html -o $(OUT)/drift.html || $(EXPECTED)
	@echo "open $(OUT)/drift.html in a browser to see drift and coverage"

test: install system tools nca  ## run the whole test suite (fails if no test was collected)
	@set +e; $(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here"; exit 1; fi; \
	exit $$rc

lint: install  ## ruff, ruff format, mypy --strict, import-linter layer contract
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy --strict src
	$(VENV)/bin/lint-imports

sanitize: install  ## the compiled Hubble reader under AddressSanitizer + UBSan, with its randomised tests (CI)
	PY=$(PY) bash scripts/sanitize-hubble.sh

golden: install  ## regenerate golden files; review them with `git diff`
	$(PY) tests/regen_golden.py
	$(PY) tests/dialects/regen.py

bench: install  ## run the benchmarks (see benchmarks/RESULTS.md)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
