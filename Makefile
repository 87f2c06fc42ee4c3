# The two commands that matter: `make test` (every check CI runs) and `make demo`
# (the whole pipeline end to end on a local emulated AWS account). Both set themselves up.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STAGE ?= dev
NODE_BIN := node_modules/.bin
DEPS_STAMP := node_modules/.package-lock.json

# Node.js: the machine's node (any 20.19+) only runs npm; npm installs the project's own Node 24
# (the npm package `node`, pinned in package.json) into node_modules/.bin, and every target runs on
# that one, the major the functions run on (nodejs24.x). SYSTEM_PATH keeps npm itself off the
# node it is about to replace.
SYSTEM_PATH := $(PATH)
# pyenv's shims run a bash program (and a dozen more processes) before every Python tool they
# start: about 0.35 CPU-s each, and make test starts some thirty (cfn-lint, moto_server, PyYAML).
# Where pyenv is in use, the selected version's own bin directory goes first instead. Computed
# once: the sub-makes (and make up's test) inherit it.
ifndef PYENV_BIN
PYENV_BIN := $(shell command -v pyenv >/dev/null 2>&1 && d="$$(pyenv prefix 2>/dev/null)" && [ -d "$$d/bin" ] && echo "$$d/bin")
endif
export PYENV_BIN
export PATH := $(CURDIR)/$(NODE_BIN)$(if $(PYENV_BIN),:$(PYENV_BIN)):$(PATH)

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(DEPS_STAMP): package.json package-lock.json
	@PATH="$(SYSTEM_PATH)" command -v npm >/dev/null || { echo "error: npm is not on PATH: install Node.js 20.19 or later (it only runs npm; the project brings its own Node 24)" >&2; exit 1; }
	@PATH="$(SYSTEM_PATH)" node -e 'if (+process.versions.node.split(".")[0] < 24) console.log(`npm runs on this machine'"'"'s node $${process.version}: its EBADENGINE warnings (node >= 22, >= 24) are about that node; everything after runs on the project'"'"'s Node 24`)'
	@echo "npm ci --no-audit --no-fund"
	@PATH="$(SYSTEM_PATH)" npm ci --no-audit --no-fund
	@$(NODE_BIN)/node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error(`error: $(NODE_BIN)/node is $${process.version}, not 24`); process.exit(1) }'

.PHONY: deps
deps: $(DEPS_STAMP) ## Install the npm dependencies (npm ci)

.PHONY: tools
tools: ## Make sure the command-line tools the checks use are installed (apt-get for what is missing)
	@scripts/ensure-tools.sh shellcheck packer jq bats curl unzip cfn-lint moto_server

# make test on a two-core machine, in two phases.
# 1. bats runs its files one after another on one core (two at once took as long, at 1.5 times the
#    CPU: each test forks dozens of short processes, and forks contend across the cores). On the
#    other core: the type check, the linters, then the jest suites that stay in jest's process (no
#    moto, no process started), then one bats file to even the two cores out. Beside bats these
#    suites took 53 s against 30 s alone and slowed bats by about 15 s, less than they take later.
# 2. The other jest suites (moto, the e2e scenarios, the CLI and bundle tests) start processes of
#    their own: they run last, on both cores.
# `make unit` and `make bats` still run every suite.
BATS_BESIDE := test/bats/packer-template.bats
# What the bats suites call.
BATS_TOOLS := bats jq curl packer unzip
JEST_IN_PROCESS := /test/(unit|statemachine|iam)/|/test/cli/(errors|images-report|options|outcome|progress|reports)\.test|/test/cluster/template\.test|/test/deploy/(iam|monitoring|packer-assets)\.test|/test/local/validated-definitions\.test

.PHONY: test
test: deps tools ## Run every check CI runs
	@mkdir -p .build && date +%s >.build/test-started
	$(MAKE) --no-print-directory -j2 --output-sync=target beside-bats bats-apart
	@echo "make test: phase 1 (bats beside the in-process checks) took $$(( $$(date +%s) - $$(cat .build/test-started) )) s"
	@date +%s >.build/test-phase-2
	$(MAKE) --no-print-directory unit-with-processes
	@echo "make test: all checks passed (phase 2: $$(( $$(date +%s) - $$(cat .build/test-phase-2) )) s; in all $$(( $$(date +%s) - $$(cat .build/test-started) )) s)"

.PHONY: beside-bats
beside-bats: deps
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit-in-process
	@scripts/ensure-tools.sh $(BATS_TOOLS)
	bats $(BATS_BESIDE)

.PHONY: bats-apart
bats-apart: deps
	@scripts/ensure-tools.sh $(BATS_TOOLS)
	bats $(filter-out $(BATS_BESIDE),$(sort $(wildcard test/bats/*.bats)))

.PHONY: unit-in-process
unit-in-process: deps ## Run the jest suites that stay in jest's process (one worker)
	$(NODE_BIN)/jest --maxWorkers=1 '$(JEST_IN_PROCESS)'

.PHONY: unit-with-processes
unit-with-processes: deps ## Run the other jest suites: moto, the e2e scenarios, the CLI and bundle tests
	@scripts/ensure-tools.sh moto_server
	$(NODE_BIN)/jest --testPathIgnorePatterns '$(JEST_IN_PROCESS)'

.PHONY: typecheck
typecheck: deps ## Type-check all TypeScript
	@# TypeScript 7, the native compiler: incremental (a second run re-checks only what changed since
	@# the last; .build/ is git-ignored) and on one thread, since make test runs it beside bats, where
	@# CPU is what counts: 3.5 CPU-s unchanged and 6 from scratch, against TypeScript 5.9's 10 and 20.
	$(NODE_BIN)/tsc --noEmit --incremental --tsBuildInfoFile .build/tsc.tsbuildinfo --singleThreaded

.PHONY: lint
lint: lint-shell lint-cfn lint-asl lint-packer lint-guard ## Run the linters and validators

.PHONY: lint-shell
lint-shell: ## shellcheck every shell script in the repo
	@scripts/ensure-tools.sh shellcheck
	git ls-files -co --exclude-standard -- '*.sh' '*.bats' | xargs -r shellcheck -x

.PHONY: unit
unit: deps ## Run the jest suites
	@scripts/ensure-tools.sh moto_server
	$(NODE_BIN)/jest

.PHONY: lint-cfn
lint-cfn: packaged ## cfn-lint the reference ECS cluster template and the packaged pipeline (both stages)
	@scripts/ensure-tools.sh cfn-lint
	scripts/check-cluster.sh
	scripts/check-pipeline-template.sh $(PACKAGED)/default/cloudformation-template-update-stack.json \
	  $(PACKAGED)/configured/cloudformation-template-update-stack.json

# The pipeline as packaged for a stage with default params and for one with every optional param
# set, packaged once per change of their inputs and shared with the deploy and IAM tests
# (deploy/packaged-stages.js).
PACKAGED := .build/packaged

.PHONY: packaged
packaged: deps ## Package the pipeline for the checks (default and configured stage), when its inputs changed
	node deploy/packaged-stages.js

.PHONY: lint-guard
lint-guard: packaged ## AWS Control Tower proactive controls (cfn-guard) on the cluster stack and the packaged pipeline
	scripts/check-guard.sh cluster=cluster/ecs-cluster.yml \
	  pipeline-default=$(PACKAGED)/default/cloudformation-template-update-stack.json \
	  pipeline-configured=$(PACKAGED)/configured/cloudformation-template-update-stack.json

# Grants no e2e scenario nor on-behalf call list used, per role and statement, with the note
# deploy/iam.js keeps for each (run the e2e scenarios first: they record the calls).
.PHONY: iam-report
iam-report: packaged ## List the IAM grants no recorded scenario or on-behalf call used, with their notes
	$(NODE_BIN)/tsx scripts/iam-unused.ts

.PHONY: cluster
cluster: ## Deploy the reference ECS cluster stack: make cluster STAGE=dev (reads cluster/params/$(STAGE).cfg)
	scripts/deploy-cluster.sh "$(STAGE)"

.PHONY: lint-asl
lint-asl: deps ## Validate the state machine definition with asl-validator
	$(NODE_BIN)/asl-validator --json-path statemachine/pipeline.asl.json

.PHONY: build
build: deps ## Bundle the Lambda functions with esbuild into .build/functions
	node scripts/build.mjs

.PHONY: package
package: deps ## Package the pipeline for a stage, offline: make package STAGE=prod
	scripts/package.sh "$(STAGE)"

.PHONY: deploy
deploy: deps ## Deploy the pipeline to the AWS account of your profile: make deploy STAGE=prod
	$(NODE_BIN)/osls deploy --stage "$(STAGE)"

.PHONY: soak
soak: deps ## Run the guarantees' properties (I1-I5) over thousands of generated scenarios: make soak [RUNS=3000]
	INVARIANT_RUNS=$(or $(RUNS),3000) $(NODE_BIN)/jest --testTimeout=3600000 test/statemachine/invariants.test.ts

.PHONY: measure
measure: deps ## Print bundle sizes, cold load times and state transitions (figures for the README)
	$(NODE_BIN)/tsx scripts/measure.ts

.PHONY: lint-packer
lint-packer: ## packer fmt -check, validate -syntax-only and the security settings of packer/
	@scripts/ensure-tools.sh packer jq
	scripts/check-packer.sh

.PHONY: bats
bats: deps ## Run the shell test suites (image scripts, first-run script, buildspec, laptop bake)
	@scripts/ensure-tools.sh $(BATS_TOOLS)
	bats test/bats

.PHONY: ami
ami: ## Bake the AMI from this machine with your AWS profile: AWS_PROFILE=... make ami [ARCHITECTURE=arm64] [SOURCE_AMI=ami-...]
	scripts/bake-ami-locally.sh

SCENARIO ?= success
# make up keeps its pid file, log and exports here (under .build/, so git ignores them).
UP_DIR ?= .build/up

.PHONY: up
up: deps ## Start a local emulated account that stays up for the CLI (runs execute for real): make up [STAGE=dev] [PORT=5000] [SCENARIO=...]
	@scripts/ensure-tools.sh moto_server
	@$(NODE_BIN)/tsx local/up.ts up --dir "$(UP_DIR)" --stage "$(STAGE)" --scenario "$(SCENARIO)" $(if $(PORT),--port "$(PORT)")

.PHONY: down
down: ## Stop what make up started (only that process, by its pid file)
	@$(NODE_BIN)/tsx local/up.ts down --dir "$(UP_DIR)"

.PHONY: demo
demo: deps ## The pipeline end to end on a local emulated AWS account: make demo [SCENARIO=build-fails|registration-timeout|stack-update-fails|partial-run|concurrent|retention|approval-rejected|alarm-during-soak]
	@scripts/ensure-tools.sh moto_server packer jq
	$(NODE_BIN)/tsx local/demo.ts --scenario "$(SCENARIO)"
