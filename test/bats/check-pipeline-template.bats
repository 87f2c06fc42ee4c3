#!/usr/bin/env bats
# scripts/check-pipeline-template.sh lints every packaged template in one cfn-lint process: any
# finding fails, except W3005, the DependsOn Serverless writes next to a role's Fn::GetAtt.

load helpers/common

@test "ignores only W3005: a template with nothing else passes, another warning fails and is named" {
  local fixture="$REPO_ROOT/test/bats/fixtures/pipeline-template/w3005-only.json"
  local unused="$BATS_TEST_TMPDIR/unused-parameter.json"
  # The same template with an unused parameter (W2001).
  jq '. + {Parameters: {Unused: {Type: "String"}}}' "$fixture" >"$unused"

  run "$REPO_ROOT/scripts/check-pipeline-template.sh" "$fixture" "$unused"
  [ "$status" -ne 0 ]
  [[ "$output" == *"W2001 Parameter Unused not used"* ]]
  [[ "$output" == *"unused-parameter.json"* ]]
  [[ "$output" != *"W3005"* ]]
  [[ "$output" != *"w3005-only.json:"* ]]
}

@test "says how to call it when given no template" {
  run "$REPO_ROOT/scripts/check-pipeline-template.sh"
  [ "$status" -eq 2 ]
  [[ "$output" == *"usage:"* ]]
}
