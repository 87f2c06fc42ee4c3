# The two commands that matter: `make test` (every check CI runs) and `make demo`
# (the whole pipeline end to end on a local emulated AWS account). Both set themselves up.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STAGE ?= dev
NODE_BIN := node_modules/.bin
DEPS_STAMP := node_modules/.package-lock.json

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(DEPS_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "error: node is not on PATH (Node.js 20.19+ is needed)" >&2; exit 1; }
	npm ci --no-audit --no-fund

.PHONY: deps
deps: $(DEPS_STAMP) ## Install the npm dependencies (npm ci)

.PHONY: test
test: deps typecheck lint unit bats ## Run every check CI runs
	@echo "make test: all checks passed"

.PHONY: typecheck
typecheck: deps ## Type-check all TypeScript
	$(NODE_BIN)/tsc --noEmit

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
lint-cfn: ## cfn-lint the reference ECS cluster template
	@scripts/ensure-tools.sh cfn-lint
	scripts/check-cluster.sh

# The pipeline is checked as packaged for a stage with default params and for one with every
# optional param set (the stages test/deploy/serverless-package.test.ts packages too).
GUARD_DIR := .build/guard
GUARD_WAVES := [{"name":"dev","clusters":[{"stackName":"dev-ecs","clusterName":"dev-cluster"}]},{"name":"prod","clusters":[{"stackName":"prod-ecs","clusterName":"prod-cluster","imageParameter":"ImageId"}]}]
GUARD_CONFIGURED_PARAMS := --param='waves=$(GUARD_WAVES)' --param=opsEmail=ops@example.com \
  --param=buildVpcId=vpc-0123456789abcdef0 --param=buildSubnetId=subnet-0123456789abcdef0 \
  --param=ebsKmsKeyId=arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555

.PHONY: lint-guard
lint-guard: deps ## AWS Control Tower proactive controls (cfn-guard) on the cluster stack and the packaged pipeline
	rm -rf $(GUARD_DIR)
	SLS_TELEMETRY_DISABLED=1 $(NODE_BIN)/osls package --stage ci --package $(GUARD_DIR)/pipeline-default
	SLS_TELEMETRY_DISABLED=1 $(NODE_BIN)/osls package --stage ci --package $(GUARD_DIR)/pipeline-configured $(GUARD_CONFIGURED_PARAMS)
	scripts/check-guard.sh cluster=cluster/ecs-cluster.yml \
	  pipeline-default=$(GUARD_DIR)/pipeline-default/cloudformation-template-update-stack.json \
	  pipeline-configured=$(GUARD_DIR)/pipeline-configured/cloudformation-template-update-stack.json

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
	$(NODE_BIN)/osls package --stage "$(STAGE)"
	@scripts/ensure-tools.sh cfn-lint
	cfn-lint --ignore-checks W3005 -- .serverless/cloudformation-template-update-stack.json

.PHONY: deploy
deploy: deps ## Deploy the pipeline to the AWS account of your profile: make deploy STAGE=prod
	$(NODE_BIN)/osls deploy --stage "$(STAGE)"

.PHONY: measure
measure: deps ## Print bundle sizes, cold load times and state transitions (figures for the README)
	$(NODE_BIN)/tsx scripts/measure.ts

.PHONY: lint-packer
lint-packer: ## packer fmt -check, validate -syntax-only and the security settings of packer/
	@scripts/ensure-tools.sh packer jq
	scripts/check-packer.sh

.PHONY: bats
bats: deps ## Run the shell test suites (image scripts, first-run script, buildspec, laptop bake)
	@scripts/ensure-tools.sh bats jq curl packer unzip
	bats test/bats

.PHONY: ami
ami: ## Bake the AMI from this machine with your AWS profile: AWS_PROFILE=... make ami [SOURCE_AMI=ami-...]
	scripts/bake-ami-locally.sh

SCENARIO ?= success
.PHONY: demo
demo: deps ## The pipeline end to end on a local emulated AWS account: make demo [SCENARIO=build-fails|registration-timeout|stack-update-fails]
	@scripts/ensure-tools.sh moto_server packer jq
	$(NODE_BIN)/tsx local/demo.ts --scenario "$(SCENARIO)"
