#!/usr/bin/env bats
# files/firstrun.sh against a temporary root and stub systemctl and systemd-run; the boot-order
# tests run it under a model of systemd's start-job ordering (helpers/fake_systemd) with the
# vendor's ecs.service (fixtures/ecs.service), as if from inside cloud-final.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

FIRSTRUN="${FIRSTRUN_UNDER_TEST:-$REPO_ROOT/files/firstrun.sh}"
CWAGENT_ETC=opt/aws/amazon-cloudwatch-agent/etc

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
  stub systemd-run
  export HEALTHCHECK_INTERVAL_SECONDS=0.1
  export ECS_CLUSTER=prod-cluster
  export STACK_NAME=ecs-prod
  export AUTOSCALING_GROUP=ecs-prod-Asg-1A2B3C
  export CFN_SIGNAL_RESOURCE=AutoScalingGroup
  export AWS_DEFAULT_REGION=eu-west-1
  unset PROXY_URL HEALTHCHECK_TIMEOUT_SECONDS
}

# Replaces the systemctl and systemd-run stubs with the ordering model, the vendor's ecs.service
# as its only known unit, and plays a caller inside cloud-final.service.
inside_cloud_final_with_vendor_units() {
  local tool
  for tool in systemctl systemd-run; do
    cp "$HELPERS/fake_systemd" "$STUB_BIN/$tool"
  done
  export FAKE_UNIT_DIR="$BATS_TEST_TMPDIR/units"
  mkdir -p "$FAKE_UNIT_DIR"
  cp "$REPO_ROOT/test/bats/fixtures/ecs.service" "$FAKE_UNIT_DIR/ecs.service"
  export FAKE_INSIDE_CLOUD_FINAL=1
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

@test "starts the CloudWatch agent through fetch-config, queues Docker and ECS, then hands the wait to a transient unit" {
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  diff -u - "$STUB_LOG" <<EOF
systemctl daemon-reload
systemctl enable amazon-cloudwatch-agent.service docker.service ecs.service
amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json -s
amazon-cloudwatch-agent-ctl -a status -m ec2
systemctl start --no-block docker.service
systemctl start --no-block ecs.service
systemctl is-active --quiet ecs-ami-pipeline-registration.service
systemctl reset-failed ecs-ami-pipeline-registration.service
systemd-run --no-block --unit=ecs-ami-pipeline-registration.service --description=Wait for the ECS agent to join prod-cluster, then signal AutoScalingGroup --setenv=ECS_CLUSTER=prod-cluster --setenv=STACK_NAME=ecs-prod --setenv=CFN_SIGNAL_RESOURCE=AutoScalingGroup --setenv=AWS_DEFAULT_REGION=eu-west-1 --setenv=PROXY_URL= --setenv=HEALTHCHECK_TIMEOUT_SECONDS=300 --setenv=HEALTHCHECK_INTERVAL_SECONDS=0.1 /bin/bash $REPO_ROOT/files/await-registration.sh
EOF
  [[ "$output" == *"journalctl -u ecs-ami-pipeline-registration.service"* ]]
}

@test "the vendor ecs.service waits for cloud-final: a blocking start from inside it would never return" {
  inside_cloud_final_with_vendor_units
  grep -qx 'After=cloud-final.service' "$FAKE_UNIT_DIR/ecs.service"
  run systemctl start ecs.service
  [ "$status" -eq 99 ]
  [[ "$output" == *"DEADLOCK"*"ecs.service is ordered after it"* ]]
}

@test "from inside cloud-final, with the vendor units as they ship, it returns without waiting on anything cloud-final blocks" {
  inside_cloud_final_with_vendor_units
  local started=$SECONDS
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  ((SECONDS - started < 10))
  refute_line_in "$STUB_LOG" 'DEADLOCK'
  # Docker and ECS were queued, not waited for; the registration unit has no ordering of its
  # own, so not even its --no-block start is held behind cloud-final.
  grep -qx 'systemctl start --no-block ecs.service' "$STUB_LOG"
  grep -Eq '^systemd-run (.* )?--no-block .*--unit=ecs-ami-pipeline-registration.service ' "$STUB_LOG"
  refute_line_in "$STUB_LOG" 'transient unit ordered after cloud-final'
  refute_line_in "$STUB_LOG" '^systemd-run .*(--property|-p )'
}

@test "leaves the vendor units alone: writes no unit file, only the proxy drop-ins" {
  export PROXY_URL=http://proxy.internal:3128
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  diff -u - <(cd "$ROOT" && find etc/systemd -type f | sort) <<'EOF'
etc/systemd/system/docker.service.d/http-proxy.conf
etc/systemd/system/ecs.service.d/http-proxy.conf
EOF
}

@test "fails, so that the user data signals the failure, when the transient unit cannot be started" {
  stub systemd-run 'echo "Failed to start transient service unit: Unit ecs-ami-pipeline-registration.service already exists." >&2; exit 1'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not start ecs-ami-pipeline-registration.service"* ]]
}

@test "does not start a second wait (and so a second signal) while one is running" {
  stub systemctl 'if [[ "$1 $2 $3" == "is-active --quiet ecs-ami-pipeline-registration.service" ]]; then exit 0; fi'
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"already waiting for the agent"* ]]
  refute_line_in "$STUB_LOG" '^systemd-run '
}

@test "passes the proxy and the wait's settings on to the transient unit" {
  export PROXY_URL=http://proxy.internal:3128 HEALTHCHECK_TIMEOUT_SECONDS=600
  run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  grep -q -- '--setenv=PROXY_URL=http://proxy.internal:3128 --setenv=HEALTHCHECK_TIMEOUT_SECONDS=600 ' "$STUB_LOG"
}

@test "rejects a CFN_SIGNAL_RESOURCE that is not a logical id, and a missing one, before writing anything" {
  CFN_SIGNAL_RESOURCE='Auto Scaling' run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not a CloudFormation logical id"* ]]
  unset CFN_SIGNAL_RESOURCE
  run "$FIRSTRUN"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing required environment variable(s): CFN_SIGNAL_RESOURCE"* ]]
  [ -z "$(find "$ROOT" -type f)" ]
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

@test "accepts every region name shape of every partition and rejects others before writing anything" {
  # bash's reading of the script's own pattern, for every shape (in this shell: no run per name)...
  local region REGION_PATTERN
  eval "$(grep -m1 '^readonly REGION_PATTERN=' "$FIRSTRUN")"
  for region in us-east-1 us-gov-west-1 cn-north-1 cn-northwest-1 eu-central-2 ap-southeast-5 \
    mx-central-1 il-central-1 ca-west-1 us-isob-east-1 us-iso-east-1 eusc-de-east-1; do
    [[ "$region" =~ $REGION_PATTERN ]] || { echo "rejected $region"; false; }
  done
  for region in 'eu-west-1; reboot' 'US-EAST-1' 'us-east' 'useast1'; do
    if [[ "$region" =~ $REGION_PATTERN ]]; then echo "accepted $region"; false; fi
  done
  # ...and the script itself, with a partition other than the commercial one and with a bad name.
  AWS_DEFAULT_REGION=eusc-de-east-1 run "$FIRSTRUN"
  [ "$status" -eq 0 ]
  [ "$(jq -r '.agent.region' "$ROOT/$CWAGENT_ETC/amazon-cloudwatch-agent.json")" = "eusc-de-east-1" ]
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
