#!/usr/bin/env bats
# files/firstrun.sh against a temporary root, a stub systemctl and a local fake of the ECS
# agent's introspection endpoint.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

FIRSTRUN="${FIRSTRUN_UNDER_TEST:-$REPO_ROOT/files/firstrun.sh}"
CWAGENT_ETC=opt/aws/amazon-cloudwatch-agent/etc

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
  # The agent's control script: accepts the configuration, then reports running.
  stub amazon-cloudwatch-agent-ctl 'if [[ "$2" == "status" ]]; then echo "{\"status\": \"running\", \"configstatus\": \"configured\"}"; fi'
  export CWAGENT_CTL="$STUB_BIN/amazon-cloudwatch-agent-ctl"
  export CWAGENT_START_SECONDS=1
  ROOT="$BATS_TEST_TMPDIR/root"
  mkdir -p "$ROOT"
  export FIRSTRUN_ROOT="$ROOT"
  export ECS_AGENT_METADATA_URL="$ENDPOINT_URL"
  export HEALTHCHECK_TIMEOUT_SECONDS=5
  export HEALTHCHECK_INTERVAL_SECONDS=0.1
  export ECS_CLUSTER=prod-cluster
  export STACK_NAME=ecs-prod
  export AUTOSCALING_GROUP=ecs-prod-Asg-1A2B3C
  export AWS_DEFAULT_REGION=eu-west-1
  unset PROXY_URL
  agent_reports '{"Cluster": "prod-cluster", "ContainerInstanceArn": "arn:aws:ecs:eu-west-1:000000000000:container-instance/prod-cluster/0123", "Version": "Amazon ECS Agent - v1.0.0"}'
}

agent_reports() {
  printf '%s' "$1" >"$ENDPOINT_BODY.tmp"
  mv -f "$ENDPOINT_BODY.tmp" "$ENDPOINT_BODY"
}

proxy_lines_under_root() {
  grep -rEn 'HTTP_PROXY|HTTPS_PROXY|NO_PROXY|http_proxy|https_proxy|no_proxy|\[proxy\]' "$ROOT" || true
}

@test "fails at once, naming ECS_CLUSTER, when ECS_CLUSTER is missing" {
  unset ECS_CLUSTER
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing required environment variable(s): ECS_CLUSTER"* ]]
  [ -z "$(find "$ROOT" -type f)" ]
  [ ! -s "$STUB_LOG" ]
}

@test "names every missing input in one message" {
  export ECS_CLUSTER="" STACK_NAME=""
  unset AWS_DEFAULT_REGION
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"ECS_CLUSTER STACK_NAME AWS_DEFAULT_REGION"* ]]
  [ ! -s "$STUB_LOG" ]
}

@test "without PROXY_URL no proxy setting is written anywhere" {
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ -z "$(proxy_lines_under_root)" ]
  [ ! -e "$ROOT/etc/systemd/system/docker.service.d/http-proxy.conf" ]
  [ ! -e "$ROOT/etc/systemd/system/ecs.service.d/http-proxy.conf" ]
  [ "$(cat "$ROOT/etc/ecs/ecs.config")" = "ECS_CLUSTER=prod-cluster" ]
}

@test "an empty PROXY_URL (the book's unquoted test) writes no proxy setting either" {
  export PROXY_URL=""
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ -z "$(proxy_lines_under_root)" ]
  [ "$(cat "$ROOT/etc/ecs/ecs.config")" = "ECS_CLUSTER=prod-cluster" ]
}

@test "with PROXY_URL, Docker, ecs-init, the ECS agent and the CloudWatch agent get the proxy and NO_PROXY" {
  export PROXY_URL=http://proxy.internal:3128
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]

  diff -u - "$ROOT/etc/ecs/ecs.config" <<'EOF'
ECS_CLUSTER=prod-cluster
HTTP_PROXY=http://proxy.internal:3128
HTTPS_PROXY=http://proxy.internal:3128
NO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock
EOF
  local unit
  for unit in docker ecs; do
    diff -u - <(grep -v '^#' "$ROOT/etc/systemd/system/$unit.service.d/http-proxy.conf") <<'EOF'
[Service]
Environment="HTTP_PROXY=http://proxy.internal:3128"
Environment="HTTPS_PROXY=http://proxy.internal:3128"
Environment="NO_PROXY=169.254.169.254,169.254.170.2,/var/run/docker.sock"
EOF
  done
  diff -u - <(grep -v '^#' "$ROOT/$CWAGENT_ETC/common-config.toml") <<'EOF'
[proxy]
    http_proxy = "http://proxy.internal:3128"
    https_proxy = "http://proxy.internal:3128"
    no_proxy = "169.254.169.254,169.254.170.2,/var/run/docker.sock"
EOF
}

@test "writes the CloudWatch agent configuration for the book's log set" {
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  local config="$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json"
  [ "$(jq -r '.agent.region' "$config")" = "eu-west-1" ]
  diff -u - <(jq -r '.logs.logs_collected.files.collect_list[] | [.file_path, .log_group_name, .log_stream_name] | @tsv' "$config") <<'EOF'
/var/log/dmesg	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/dmesg	{instance_id}
/var/log/messages	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/messages	{instance_id}
/var/log/docker	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/docker	{instance_id}
/var/log/ecs/ecs-init.log*	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/ecs/ecs-init.log	{instance_id}
/var/log/ecs/ecs-agent.log*	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/ecs/ecs-agent.log	{instance_id}
/var/log/ecs/audit.log*	/ecs-prod/ec2/ecs-prod-Asg-1A2B3C/var/log/ecs/audit.log	{instance_id}
EOF
}

@test "starts the CloudWatch agent through fetch-config, then Docker and the ECS agent without blocking" {
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  diff -u - "$STUB_LOG" <<EOF
systemctl daemon-reload
systemctl enable amazon-cloudwatch-agent.service docker.service ecs.service
amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json -s
amazon-cloudwatch-agent-ctl -a status -m ec2
systemctl start --no-block docker.service
systemctl start --no-block ecs.service
EOF
}

@test "fails, naming the configuration, when the CloudWatch agent refuses it, and starts nothing else" {
  stub amazon-cloudwatch-agent-ctl 'echo "E! Invalid Json input schema."; exit 1'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the CloudWatch agent refused its configuration file:$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json: E! Invalid Json input schema."* ]]
  refute_line_in "$STUB_LOG" '^systemctl start'
}

@test "fails when the CloudWatch agent does not report running in time, with its last status" {
  stub amazon-cloudwatch-agent-ctl 'if [[ "$2" == "status" ]]; then echo "{\"status\": \"stopped\"}"; fi'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the CloudWatch agent is not running 1s after it was started (status: stopped)"* ]]
  refute_line_in "$STUB_LOG" '^systemctl start'
}

@test "succeeds once the endpoint reports the configured cluster" {
  agent_reports '{"error": "not registered yet"}'
  (sleep 1 && agent_reports '{"Cluster": "prod-cluster"}') &
  run "$FIRSTRUN"
  wait
  [ "$status" -eq 0 ]
  [[ "$output" == *"joined cluster prod-cluster"* ]]
}

@test "exits non-zero after the timeout, naming the cluster and what the endpoint last said" {
  export HEALTHCHECK_TIMEOUT_SECONDS=1
  agent_reports '{"Cluster": "some-other-cluster"}'
  local started=$SECONDS
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  ((SECONDS - started >= 1))
  ((SECONDS - started < 15))
  [[ "$output" == *"did not join cluster prod-cluster within 1s"* ]]
  [[ "$output" == *"some-other-cluster"* ]]
  [[ "$output" == *"ecs.service=activating"* ]]
}

@test "exits non-zero after the timeout when the endpoint never answers" {
  export HEALTHCHECK_TIMEOUT_SECONDS=1
  export ECS_AGENT_METADATA_URL="http://127.0.0.1:9/v1/metadata"
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"did not join cluster prod-cluster"* ]]
  [[ "$output" == *"last said: request failed"* ]]
}

@test "a second run leaves the same files, with and without a proxy" {
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  local first
  first="$(snapshot_tree "$ROOT")"
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ "$(snapshot_tree "$ROOT")" = "$first" ]

  export PROXY_URL=http://proxy.internal:3128
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  first="$(snapshot_tree "$ROOT")"
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ "$(snapshot_tree "$ROOT")" = "$first" ]
  [ "$(grep -c '^HTTP_PROXY=' "$ROOT/etc/ecs/ecs.config")" -eq 1 ]
}

@test "a run without PROXY_URL removes the proxy settings an earlier run wrote" {
  PROXY_URL=http://proxy.internal:3128 run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ -n "$(proxy_lines_under_root)" ]
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ -z "$(proxy_lines_under_root)" ]
}

@test "keeps ecs.config settings written by others and replaces only its own keys" {
  mkdir -p "$ROOT/etc/ecs"
  printf 'ECS_ENABLE_TASK_IAM_ROLE=true\nECS_CLUSTER=old-cluster\nHTTP_PROXY=http://stale:1\n' >"$ROOT/etc/ecs/ecs.config"
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  diff -u - "$ROOT/etc/ecs/ecs.config" <<'EOF'
ECS_ENABLE_TASK_IAM_ROLE=true
ECS_CLUSTER=prod-cluster
EOF
}

@test "rejects a PROXY_URL that would break the generated files" {
  export PROXY_URL='http://proxy" ExecStart=/bin/evil'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"PROXY_URL"* ]]
  [ -z "$(find "$ROOT" -type f)" ]
}

@test "rejects an invalid cluster name before writing anything" {
  export ECS_CLUSTER='prod cluster'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not a valid cluster name"* ]]
  [ -z "$(find "$ROOT" -type f)" ]
}

@test "accepts every region name shape (eusc-de-east-1, us-gov-west-1) and rejects others before writing anything" {
  local region
  for region in eusc-de-east-1 us-gov-west-1; do
    rm -rf "${ROOT:?}"/*
    AWS_DEFAULT_REGION="$region" run "$FIRSTRUN"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.agent.region' "$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json")" = "$region" ]
  done
  rm -rf "${ROOT:?}"/*
  AWS_DEFAULT_REGION='eu-west-1; reboot' run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not a region name"* ]]
  [ -z "$(find "$ROOT" -type f)" ]
}

@test "keeps a private ecs.config private" {
  mkdir -p "$ROOT/etc/ecs"
  printf 'ECS_ENGINE_AUTH_TYPE=docker\n' >"$ROOT/etc/ecs/ecs.config"
  chmod 0600 "$ROOT/etc/ecs/ecs.config"
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$ROOT/etc/ecs/ecs.config")" = "600" ]
  [ "$(stat -c %a "$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json")" = "644" ]
}
