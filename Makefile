# Entry points for people and CI. Every target does its own set-up and fails loudly.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

REPO := $(abspath .)
VENV := $(REPO)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(REPO)/.collections:$(VENV)/lib/python3.11/site-packages
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

SCENARIO ?=
SANITY_DIR := $(REPO)/.lab/sanity/ansible_collections/selfhost/chatwoot
SANITY_VENV := $(REPO)/.lab/sanity-venv

.PHONY: help setup lab-images lab-images-clean lint sanity unit integration molecule lab lab-destroy test build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## System packages, Docker daemon, pinned Python tools in .venv, collection link
	@tests/lab/setup-host.sh

lab-images: setup ## Build (or reuse) the lab images and the stack image archive
	@tests/lab/build-images.sh

lint: setup ## yamllint, ansible-lint (production), ruff, ansible-test sanity
	yamllint --strict .
	ansible-lint --strict
	python docs/tools/role_readme.py --check roles/*
	ruff check .
	ruff format --check .
	$(MAKE) --no-print-directory sanity

sanity: setup ## ansible-test sanity on a copy placed under ansible_collections/selfhost/chatwoot
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@git ls-files --cached --others --exclude-standard -z | rsync -a --from0 --files-from=- ./ $(SANITY_DIR)/
	@# ansible-test lists a collection's files through git; an untracked copy has no targets.
	@cd $(SANITY_DIR) && git init -q && git add -A
	@# tests/lab/ is image build context (ERB YAML, Ruby, entrypoints), not collection content.
	@# ansible-test's --venv bootstraps pip from a host that is not reachable here, so the sanity
	@# requirements go into a venv of their own instead of the tool chain's.
	@[[ -x $(SANITY_VENV)/bin/ansible-test ]] || { python3.11 -m venv $(SANITY_VENV) && \
	  $(SANITY_VENV)/bin/pip install -q "$$(grep '^ansible-core==' tests/requirements.txt)"; }
	@v=$$(grep -oE "pip='[0-9.]+'" $(SANITY_VENV)/lib/python3.11/site-packages/ansible_test/_internal/python_requirements.py \
	  | head -1 | cut -d"'" -f2) && mkdir -p ~/.ansible/test/cache && \
	  cp tests/lab/get_pip_offline.py ~/.ansible/test/cache/get_pip_$${v//./_}.py
	cd $(SANITY_DIR) && PATH=$(SANITY_VENV)/bin:$$PATH \
	  ansible-test sanity --local --python 3.11 --color no --requirements --exclude tests/lab/

unit: setup ## Unit tests of pure logic
	pytest -q tests/unit

integration: lab-images ## Modules and the Chatwoot double against real containers
	pytest -q tests/integration tests/lab/chatwoot-double/tests

molecule: lab-images ## Molecule scenarios (all, or SCENARIO=name)
	@scenarios="$(SCENARIO)"; \
	if [[ -z "$$scenarios" ]]; then scenarios=$$(ls -d molecule/*/molecule.yml | xargs -n1 dirname | xargs -n1 basename); fi; \
	for s in $$scenarios; do echo "== molecule test -s $$s"; molecule test -s "$$s"; done

lab: lab-images ## Deploy a complete Chatwoot host into a local lab VPS container
	@tests/lab/lab.sh up

lab-destroy: setup ## Remove the lab VPS and everything `make lab` made
	@tests/lab/lab.sh down

lab-images-clean: setup ## Remove the cached lab images and the stack archive (make lab-images rebuilds them)
	@source tests/lab/images.env && for v in $$(compgen -v LAB_); do docker image rm -f "$${!v}" >/dev/null 2>&1 || true; done
	rm -rf .lab/stack-images.tar .lab/stack-images.tar.ids

build: setup ## Build the collection tarball
	ansible-galaxy collection build --force --output-path .lab/dist

test: lint unit ## Everything: lint, unit, then two lanes side by side (integration + nginx, the other scenarios)
	@# The lanes overlap well on two cores: integration is CPU (its stacks boot with LAB_BOOT_DELAY=0), the
	@# Molecule scenarios mostly wait (the double's boot delay, health checks, apt). Lane 1 is integration
	@# then the nginx scenario; lane 2 every other scenario (default, the longest, first). Each lane's output
	@# is printed whole when it ends (--output-sync); a failure in either fails the run.
	$(MAKE) --no-print-directory -j2 --output-sync=target test-lane-1 test-lane-2

.PHONY: test-lane-1 test-lane-2
test-lane-1: lab-images
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory molecule SCENARIO=nginx

test-lane-2: lab-images
	$(MAKE) --no-print-directory molecule SCENARIO="$$(ls -d molecule/*/molecule.yml | xargs -n1 dirname | xargs -n1 basename | grep -vx nginx | tr '\n' ' ')"
