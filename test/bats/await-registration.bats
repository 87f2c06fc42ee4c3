#!/usr/bin/env bats
# files/await-registration.sh: the wait for the ECS agent to join the cluster and the one
# cfn-signal, against a local fake of the agent's introspection endpoint and a stub cfn-signal.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

AWAIT="$REPO_ROOT/files/await-registration.sh"

setup_file() {
  export ENDPOINT_BODY="$BATS_FILE_TMPDIR/metadata.json"
  local port_file="$BATS_FILE_TMPDIR/port"
  python3 "$HELPERS/fake_endpoint.py" "$ENDPOINT_BODY" "$port_file" 3>&- &
  echo "$!" >"$BATS_FILE_TMPDIR/endpoint.pid"
  local _
  for _ in $(seq 1 50); do
    [[ -s "$port_file" ]] && break
    sleep 0.1
  done
  [[ -s "$port_file" ]] || {
    echo "the fake introspection endpoint did not start" >&2
    return 1
  }
  ENDPOINT_URL="http://127.0.0.1:$(cat "$port_file")/v1/metadata"
  export ENDPOINT_URL
}

teardown_file() {
  kill "$(cat "$BATS_FILE_TMPDIR/endpoint.pid")" 2>/dev/null || true
}

setup() {
  setup_stubs
  stub systemctl 'if [[ "$1" == "is-active" ]]; then echo activating; exit 3; fi'
  stub cfn-signal
  export CFN_SIGNAL="$STUB_BIN/cfn-signal"
  export ECS_AGENT_METADATA_URL="$ENDPOINT_URL"
  export HEALTHCHECK_TIMEOUT_SECONDS=5
  export HEALTHCHECK_INTERVAL_SECONDS=0.1
  export ECS_CLUSTER=prod-cluster
  export STACK_NAME=ecs-prod
  export CFN_SIGNAL_RESOURCE=AutoScalingGroup
  export AWS_DEFAULT_REGION=eu-west-1
  unset PROXY_URL
  agent_reports '{"Cluster": "prod-cluster", "ContainerInstanceArn": "arn:aws:ecs:eu-west-1:000000000000:container-instance/prod-cluster/0123"}'
}

agent_reports() {
  printf '%s' "$1" >"$ENDPOINT_BODY.tmp"
  mv -f "$ENDPOINT_BODY.tmp" "$ENDPOINT_BODY"
}

signals() {
  grep '^cfn-signal ' "$STUB_LOG" || true
}

@test "signals success once the endpoint reports the configured cluster, and only then" {
  agent_reports '{"error": "not registered yet"}'
  (sleep 1 && agent_reports '{"Cluster": "prod-cluster"}') &
  run "$AWAIT"
  wait
  [ "$status" -eq 0 ]
  [[ "$output" == *"joined cluster prod-cluster"* ]]
  [ "$(signals)" = "cfn-signal -e 0 --stack ecs-prod --resource AutoScalingGroup --region eu-west-1" ]
}

@test "signals failure after the timeout, naming the cluster, what the endpoint said and the services" {
  export HEALTHCHECK_TIMEOUT_SECONDS=1
  agent_reports '{"Cluster": "some-other-cluster"}'
  local started=$SECONDS
  run "$AWAIT"
  [ "$status" -ne 0 ]
  ((SECONDS - started >= 1))
  ((SECONDS - started < 15))
  [[ "$output" == *"did not join cluster prod-cluster within 1s"* ]]
  [[ "$output" == *"some-other-cluster"* ]]
  [[ "$output" == *"ecs.service=activating"* ]]
  [ "$(signals)" = "cfn-signal -e 1 --stack ecs-prod --resource AutoScalingGroup --region eu-west-1" ]
}

@test "signals failure when the endpoint never answers" {
  export HEALTHCHECK_TIMEOUT_SECONDS=1
  export ECS_AGENT_METADATA_URL="http://127.0.0.1:9/v1/metadata"
  run "$AWAIT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"last said: request failed"* ]]
  [ "$(signals)" = "cfn-signal -e 1 --stack ecs-prod --resource AutoScalingGroup --region eu-west-1" ]
}

@test "signals failure when the unit is stopped during the wait" {
  agent_reports '{"error": "not registered yet"}'
  stub sleep 'kill -TERM $PPID'
  run "$AWAIT"
  [ "$status" -ne 0 ]
  [ "$(signals)" = "cfn-signal -e 143 --stack ecs-prod --resource AutoScalingGroup --region eu-west-1" ]
}

@test "passes the proxy to cfn-signal only when one is set" {
  PROXY_URL=http://proxy.internal:3128 run "$AWAIT"
  [ "$status" -eq 0 ]
  [ "$(signals)" = "cfn-signal -e 0 --stack ecs-prod --resource AutoScalingGroup --region eu-west-1 --https-proxy http://proxy.internal:3128" ]
}

@test "exits non-zero when cfn-signal cannot report, even after a registration" {
  stub cfn-signal 'exit 1'
  run "$AWAIT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"cfn-signal could not report exit status 0"* ]]
}

@test "names every missing input, and sends no signal it could not address" {
  export STACK_NAME=""
  unset CFN_SIGNAL_RESOURCE
  run "$AWAIT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing required environment variable(s): STACK_NAME CFN_SIGNAL_RESOURCE"* ]]
  [ -z "$(signals)" ]
}
