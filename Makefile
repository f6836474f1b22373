# selfhosted.headscale: developer entry points.
#   make setup   prepare this machine: venv, collection path, test-bed programs and images
#   make test    the whole suite: lint, sanity, unit, integration, molecule
#   make demo    a working tailnet in local containers (site.yml, then verify.yml); make demo-clean
#   make fleet   the fleet scenario (ten nodes over SSH, arm64 under qemu-user), not in make test
# TESTBED_MATRIX=full selects every supported headscale/tailscale version (and arm64).

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
TESTBED_MATRIX ?= default
# 1: also build what molecule/fleet needs and run it (`make fleet` sets it).
TESTBED_FLEET ?= 0
COLLECTIONS_DIR := $(CURDIR)/.collections
COLLECTION_LINK := $(COLLECTIONS_DIR)/ansible_collections/selfhosted/headscale

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
export TESTBED_MATRIX TESTBED_FLEET

.PHONY: setup system-packages host-limits venv importer-venv collection testbed test lint docs sanity pytest unit integration molecule build clean bench bench-modules bench-enrol fleet demo demo-clean

setup: system-packages host-limits venv importer-venv collection testbed

# Debian packages the test bed needs next to Docker and Go (installed only when missing).
SYSTEM_PACKAGES := debootstrap qemu-user-static binfmt-support shellcheck file
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $$( [ $$(id -u) -eq 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ $$(id -u) -eq 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# systemd in a container holds about 8 inotify instances (measured: 7 and 8 in molecule/fleet's
# containers). Linux allows 128 per user by default, all containers being root: with two
# scenarios side by side (upgrade 8 + mesh 7 systemd containers) or the fleet, systemd fails
# to start in the last containers ("containers keep running" fails at create).
INOTIFY_INSTANCES := 1024
host-limits:
	@if [ $$(cat /proc/sys/fs/inotify/max_user_instances) -lt $(INOTIFY_INSTANCES) ]; then \
	  $$( [ $$(id -u) -eq 0 ] || echo sudo ) sysctl -q -w fs.inotify.max_user_instances=$(INOTIFY_INSTANCES); \
	fi

venv:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt

collection:
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)

# The Debian images (debootstrap: mostly downloads and dpkg) build while Go compiles; the
# service images need the binaries, so they come last.
DEBIAN_IMAGES := debian-12 debian-13 $(if $(filter full,$(TESTBED_MATRIX))$(filter 1,$(TESTBED_FLEET)),debian-12-arm64)
testbed:
	testbed/build-images.sh $(DEBIAN_IMAGES) & images=$$!; \
	testbed/build-binaries.sh; built=$$?; \
	wait $$images && [ $$built -eq 0 ] && testbed/build-images.sh services

test: lint docs sanity pytest

lint:
	antsibull-changelog lint
	ruff check plugins tests testbed bench
	yamllint --strict .
	ansible-lint --offline

sanity:
	tests/sanity/run.sh

# One pytest run covers unit, integration and molecule scenarios, so the suite ends
# with a single summary line. Two workers; tests/conftest.py hands out a test file (its
# module-scoped headscale servers are shared) or a molecule scenario as one unit of work,
# the long molecule scenarios first.
PYTEST_WORKERS ?= 2
pytest:
	pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder tests/molecule tests/integration tests/unit

unit:
	pytest tests/unit

integration:
	pytest tests/integration

molecule:
	pytest tests/molecule

# The lab of the molecule scenario "mesh" as a demo: a headscale server (container mode,
# Caddy with a certificate from the lab's ACME CA), a subnet router and exit node, a laptop
# using both, and the networks behind them. `converge` creates the containers, prepares the
# lab and runs playbooks/site.yml; `verify` runs playbooks/verify.yml (the table) and the
# nothing-calls-home checks. The containers stay until `make demo-clean`.
DEMO_MOLECULE := molecule -c molecule/_shared/base.yml
# From a fresh clone it builds only what the demo runs: the newest default headscale, the
# default tailscale, Caddy, Pebble and the Debian 12/13 images (no importer venv, no other
# versions, no arm64). Up to date, the builds take seconds, and build-images.sh re-exports
# Pebble's CA from the image Docker has now (another checkout may have rebuilt it).
demo: system-packages host-limits venv collection
	testbed/build-binaries.sh demo
	testbed/build-images.sh debian-12 debian-13 services
	$(DEMO_MOLECULE) converge -s mesh
	$(DEMO_MOLECULE) verify -s mesh

demo-clean:
	$(DEMO_MOLECULE) destroy -s mesh

# Benchmarks (bench/README.md; heavy: containers and servers, run one at a time).
#   make bench          a no-op re-run of site.yml on the lab timed against the floor
#                       (BENCH_ARGS="--runs 5", "--scenario mesh", "--keep")
#   make bench-modules  no-op module runs on an empty vs a loaded headscale (BENCH_ARGS="--runs 5")
bench:
	python bench/bench_site.py $(BENCH_ARGS)

bench-modules:
	python bench/bench_noop.py $(BENCH_ARGS)

bench-enrol:
	python bench/bench_enrol.py $(BENCH_ARGS)

# molecule/fleet (ten nodes over SSH, arm64 under qemu-user, tailscale 1.80.3): not in
# `make test` yet (on two cores it does not fit the suite's time); `make fleet` builds what
# it needs and runs it, and TESTBED_MATRIX=full includes it.
fleet:
	$(MAKE) testbed TESTBED_FLEET=1
	TESTBED_FLEET=1 pytest tests/molecule -k fleet

# galaxy-importer (what Galaxy runs on an uploaded tarball) in a venv of its own: it pins its own
# ansible-core/ansible-lint. The ansible package brings the dependency collections
# (community.docker, ansible.posix) into that venv, so the importer's ansible-lint resolves them.
IMPORTER_VENV := .cache/importer-venv
importer-venv:
	test -x $(IMPORTER_VENV)/bin/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/pip install -q galaxy-importer==0.4.44 ansible==12.3.0

# The tarball users install: .cache/dist/selfhosted-headscale-<version>.tar.gz (galaxy.yml build_ignore).
build:
	ansible-galaxy collection build --force --output-path .cache/dist

# HTML documentation (antsibull-docs, offline) into .cache/docs/build; fails on warnings (docs/build.sh).
docs:
	docs/build.sh

clean:
	rm -rf .cache tests/output .pytest_cache
