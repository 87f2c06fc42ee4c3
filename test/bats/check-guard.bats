#!/usr/bin/env bats
# scripts/check-guard.sh keeps cfn-guard's verdict per template, rules and binary, so a second
# `make test` does not re-run cfn-guard on what did not change. The cache must never hide a change:
# a template that gains a failing resource fails, with a verdict for its old text in the cache.

load helpers/common

setup() {
  export GUARD_CACHE_DIR="$BATS_TEST_TMPDIR/verdicts"
  TEMPLATE="$BATS_TEST_TMPDIR/ecs-cluster.yml"
  cp "$REPO_ROOT/cluster/ecs-cluster.yml" "$TEMPLATE"
}

@test "reuses a verdict only for the same template: a new failing resource still fails" {
  run "$REPO_ROOT/scripts/check-guard.sh" "cluster=$TEMPLATE"
  [ "$status" -eq 0 ]
  [ "$(find "$GUARD_CACHE_DIR" -name '*.status' | wc -l)" -eq 1 ]

  run "$REPO_ROOT/scripts/check-guard.sh" "cluster=$TEMPLATE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"every failure is a listed exception"* ]]

  # An unencrypted volume (Control Tower: EBS volumes must be encrypted), under Resources:.
  sed -i 's/^Resources:$/Resources:\n  UnencryptedScratch:\n    Type: AWS::EC2::Volume\n    Properties:\n      AvailabilityZone: eu-west-1a\n      Size: 10\n      Encrypted: false/' "$TEMPLATE"
  run "$REPO_ROOT/scripts/check-guard.sh" "cluster=$TEMPLATE"
  [ "$status" -eq 1 ]
  [[ "$output" == *"UnencryptedScratch"* ]]
  [ "$(find "$GUARD_CACHE_DIR" -name '*.status' | wc -l)" -eq 2 ]
}
