#!/usr/bin/env bash
# First-run configuration of an ECS container instance. The image keeps this script at
# /opt/ecs-ami-pipeline/firstrun.sh; the cluster stack's cfn-init runs it once at instance
# creation, from user data, that is inside cloud-final.service.
#
# It configures the instance, queues the starts of Docker and the ECS agent and returns; the
# wait for the agent to join the cluster, and the success or failure signal to CloudFormation,
# run in the transient unit ecs-ami-pipeline-registration.service (await-registration.sh, kept
# beside this script). The vendor's ecs.service is ordered After=cloud-final.service: the agent
# cannot start until cloud-final, and so this script, has ended, and a wait in here could only
# time out. Handing the wait to a unit that is ordered after nothing leaves the vendor units as
# they ship (ecs-init updates keep applying) and cannot deadlock. A non-zero exit here means
# nothing was handed over; the stack's user data then signals the failure itself.
#
# Inputs (environment):
#   ECS_CLUSTER          cluster the ECS agent joins (required)
#   STACK_NAME           CloudFormation stack, first part of the log group names and the stack
#                        signalled (required)
#   AUTOSCALING_GROUP    auto scaling group, second part of the log group names (required)
#   CFN_SIGNAL_RESOURCE  logical id of the auto scaling group that waits for the signal (required)
#   AWS_DEFAULT_REGION   region the CloudWatch agent sends logs to (required)
#   PROXY_URL            optional HTTP proxy (http://host:port or host:port) for Docker, the
#                        ECS agent, the CloudWatch agent and cfn-signal; empty = no proxy settings
# Passed on to await-registration.sh: HEALTHCHECK_TIMEOUT_SECONDS (how long the agent has to
#   join, default 300) and HEALTHCHECK_INTERVAL_SECONDS (pause between polls, default 5).
# Test seams (production defaults unchanged):
#   FIRSTRUN_ROOT                 prefix of every file written (default /)
#   CWAGENT_CTL                   the CloudWatch agent's control script
#                                 (default /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl)
#   CWAGENT_START_SECONDS         how long the CloudWatch agent has to report running (default 30)
#   services are driven through the systemctl and systemd-run found on PATH.
#
# Every file is rewritten whole (never appended to), so running the script twice leaves the
# same files as running it once, and a run without PROXY_URL removes proxy settings a
# previous run wrote.
set -euo pipefail

readonly ROOT="${FIRSTRUN_ROOT:-/}"
readonly TIMEOUT_SECONDS="${HEALTHCHECK_TIMEOUT_SECONDS:-300}"
readonly INTERVAL_SECONDS="${HEALTHCHECK_INTERVAL_SECONDS:-5}"
readonly REGISTRATION_UNIT="ecs-ami-pipeline-registration.service"
# Instance metadata (169.254.169.254), task IAM role credentials (169.254.170.2) and the
# Docker socket must never go through the proxy.
readonly NO_PROXY_LIST="169.254.169.254,169.254.170.2,/var/run/docker.sock"
readonly CWAGENT_ETC="/opt/aws/amazon-cloudwatch-agent/etc"
readonly CWAGENT_CTL="${CWAGENT_CTL:-/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl}"
readonly CWAGENT_START_SECONDS="${CWAGENT_START_SECONDS:-30}"
# AWS_REGION_PATTERN of functions/lib/contracts/index.ts, character for character (a test compares).
readonly REGION_PATTERN='^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$'
readonly MANAGED_BY="# Managed by /opt/ecs-ami-pipeline/firstrun.sh; rewritten on every run."

log() {
  printf 'firstrun: %s\n' "$*"
}

die() {
  printf 'firstrun: error: %s\n' "$*" >&2
  exit 1
}

# Path of an absolute system path under FIRSTRUN_ROOT.
target() {
  printf '%s%s' "${ROOT%/}" "$1"
}

validate_inputs() {
  local name
  local -a missing=()
  for name in ECS_CLUSTER STACK_NAME AUTOSCALING_GROUP CFN_SIGNAL_RESOURCE AWS_DEFAULT_REGION; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  if ((${#missing[@]} > 0)); then
    die "missing required environment variable(s): ${missing[*]} (the cluster stack's cfn-init must set them)"
  fi
  # These end up in ecs.config, systemd units and TOML: reject anything that could break out.
  [[ "$ECS_CLUSTER" =~ ^[A-Za-z0-9_-]{1,255}$ ]] ||
    die "ECS_CLUSTER '$ECS_CLUSTER' is not a valid cluster name (letters, digits, - and _)"
  [[ "$CFN_SIGNAL_RESOURCE" =~ ^[A-Za-z0-9]{1,255}$ ]] ||
    die "CFN_SIGNAL_RESOURCE '$CFN_SIGNAL_RESOURCE' is not a CloudFormation logical id (letters and digits)"
  [[ "$AWS_DEFAULT_REGION" =~ $REGION_PATTERN ]] ||
    die "AWS_DEFAULT_REGION '$AWS_DEFAULT_REGION' is not a region name"
  if [[ -n "${PROXY_URL:-}" && ! "$PROXY_URL" =~ ^([a-z]+://)?[^[:space:]\"\'\\]+$ ]]; then
    die "PROXY_URL '$PROXY_URL' must be a URL such as http://proxy.example.com:3128 without spaces or quotes"
  fi
  [[ "$TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] ||
    die "HEALTHCHECK_TIMEOUT_SECONDS '$TIMEOUT_SECONDS' is not a whole number of seconds"
  [[ "$INTERVAL_SECONDS" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    die "HEALTHCHECK_INTERVAL_SECONDS '$INTERVAL_SECONDS' is not a number of seconds"
  [[ "$CWAGENT_START_SECONDS" =~ ^[0-9]+$ ]] ||
    die "CWAGENT_START_SECONDS '$CWAGENT_START_SECONDS' is not a whole number of seconds"
}

# write_file PATH MODE: replaces PATH with stdin atomically; leaves it untouched when the
# content is already the same. An existing file keeps its mode (ecs.config may be made
# private because it can hold registry credentials); MODE applies to new files.
write_file() {
  local path mode="$2" tmp
  path="$(target "$1")"
  mkdir -p "$(dirname "$path")"
  tmp="$(mktemp "${path}.XXXXXX")"
  cat >"$tmp"
  if [[ -f "$path" ]]; then
    chmod --reference="$path" "$tmp"
  else
    chmod "$mode" "$tmp"
  fi
  if [[ -f "$path" ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$path"
  fi
}

remove_file() {
  rm -f "$(target "$1")"
}

# /etc/ecs/ecs.config may hold settings from other sources (cfn-init files, user data): only
# the keys this script owns are replaced, the other lines are kept as they are.
configure_ecs_agent() {
  local config existing=""
  config="$(target /etc/ecs/ecs.config)"
  if [[ -f "$config" ]]; then
    existing="$(grep -Ev '^(ECS_CLUSTER|HTTP_PROXY|HTTPS_PROXY|NO_PROXY)=' "$config" || true)"
  fi
  {
    [[ -n "$existing" ]] && printf '%s\n' "$existing"
    printf 'ECS_CLUSTER=%s\n' "$ECS_CLUSTER"
    if [[ -n "${PROXY_URL:-}" ]]; then
      printf 'HTTP_PROXY=%s\n' "$PROXY_URL"
      printf 'HTTPS_PROXY=%s\n' "$PROXY_URL"
      printf 'NO_PROXY=%s\n' "$NO_PROXY_LIST"
    fi
  } | write_file /etc/ecs/ecs.config 0644
}

# Docker and ecs-init (which may download the agent image) read the proxy from their systemd
# environment; ecs.config above covers the agent itself.
configure_service_proxies() {
  local unit
  for unit in docker ecs; do
    if [[ -n "${PROXY_URL:-}" ]]; then
      write_file "/etc/systemd/system/${unit}.service.d/http-proxy.conf" 0644 <<EOF
$MANAGED_BY
[Service]
Environment="HTTP_PROXY=${PROXY_URL}"
Environment="HTTPS_PROXY=${PROXY_URL}"
Environment="NO_PROXY=${NO_PROXY_LIST}"
EOF
    else
      remove_file "/etc/systemd/system/${unit}.service.d/http-proxy.conf"
    fi
  done
}

configure_cloudwatch_agent_proxy() {
  if [[ -n "${PROXY_URL:-}" ]]; then
    write_file "$CWAGENT_ETC/common-config.toml" 0644 <<EOF
$MANAGED_BY
[proxy]
    http_proxy = "${PROXY_URL}"
    https_proxy = "${PROXY_URL}"
    no_proxy = "${NO_PROXY_LIST}"
EOF
  else
    write_file "$CWAGENT_ETC/common-config.toml" 0644 <<EOF
$MANAGED_BY
# No HTTP proxy: PROXY_URL was empty.
EOF
  fi
}

# The book's log set, one log group per file named /<stack>/ec2/<auto scaling group>/<path>,
# one stream per instance. AL2023 logs to the systemd journal only; the image's rsyslog
# (packer/scripts/logging.sh) writes /var/log/messages, /var/log/docker (dockerd and
# containerd) and /var/log/dmesg (kernel) from the journal, so all six files exist. The
# agent's own journald input is recent (2026) and not yet in every AL2023 release, so it is
# not used. rsyslog writes local time in its traditional format; the ECS agent writes UTC
# and rotates to timestamped names, hence the trailing wildcard (the CloudWatch agent follows
# the newest match).
configure_cloudwatch_agent_logs() {
  local prefix="/${STACK_NAME}/ec2/${AUTOSCALING_GROUP}"
  jq -n --arg prefix "$prefix" --arg region "$AWS_DEFAULT_REGION" '
    def collect($file; $path; $format; $zone):
      {file_path: $file, log_group_name: ($prefix + $path), log_stream_name: "{instance_id}"}
      + (if $format == "" then {} else {timestamp_format: $format} end)
      + (if $zone == "" then {} else {timezone: $zone} end);
    {
      agent: {region: $region, run_as_user: "root"},
      logs: {
        logs_collected: {
          files: {
            collect_list: [
              collect("/var/log/dmesg"; "/var/log/dmesg"; "%b %d %H:%M:%S"; ""),
              collect("/var/log/messages"; "/var/log/messages"; "%b %d %H:%M:%S"; ""),
              collect("/var/log/docker"; "/var/log/docker"; "%b %d %H:%M:%S"; ""),
              collect("/var/log/ecs/ecs-init.log*"; "/var/log/ecs/ecs-init.log"; "%Y-%m-%dT%H:%M:%SZ"; "UTC"),
              collect("/var/log/ecs/ecs-agent.log*"; "/var/log/ecs/ecs-agent.log"; "%Y-%m-%dT%H:%M:%SZ"; "UTC"),
              collect("/var/log/ecs/audit.log*"; "/var/log/ecs/audit.log"; "%Y-%m-%dT%H:%M:%SZ"; "UTC")
            ]
          }
        }
      }
    }' | write_file "$CWAGENT_ETC/amazon-cloudwatch-agent.json" 0644
}

# fetch-config translates and validates the JSON and -s restarts the agent on it: a broken
# configuration fails here, where a restart of the agent's simple unit would have succeeded and
# shipped no logs. Then the agent must report running within CWAGENT_START_SECONDS.
start_cloudwatch_agent() {
  local config output state="" deadline
  config="file:$(target "$CWAGENT_ETC/amazon-cloudwatch-agent.json")"
  if ! output="$("$CWAGENT_CTL" -a fetch-config -m ec2 -c "$config" -s 2>&1)"; then
    # The end of what it said (${output: -500} would be empty for a shorter text).
    ((${#output} <= 500)) || output="...${output:${#output}-500}"
    die "the CloudWatch agent refused its configuration ${config}: ${output}"
  fi
  deadline=$((SECONDS + CWAGENT_START_SECONDS))
  while true; do
    state="$("$CWAGENT_CTL" -a status -m ec2 2>/dev/null | jq -r '.status // empty' 2>/dev/null || true)"
    [[ "$state" == "running" ]] && return 0
    if ((SECONDS >= deadline)); then
      die "the CloudWatch agent is not running ${CWAGENT_START_SECONDS}s after it was started (status: ${state:-unknown}); see /opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"
    fi
    sleep "$INTERVAL_SECONDS"
  done
}

# Docker and the ECS agent were disabled in the image: enabling them keeps them running across
# reboots. The starts must be --no-block: a blocking start of a unit ordered after cloud-final,
# from inside cloud-final, would wait for itself. Queued, they run once cloud-final has ended,
# and a start that never happens ends in await-registration.sh's timeout and message.
start_services() {
  systemctl daemon-reload
  systemctl enable amazon-cloudwatch-agent.service docker.service ecs.service
  start_cloudwatch_agent
  systemctl start --no-block docker.service
  systemctl start --no-block ecs.service
  log "started the CloudWatch agent; Docker and the ECS agent are starting"
}

# The wait and the signal run outside cloud-final (see the top of this file). The unit gets
# systemd's default dependencies only (after basic.target), so its start never waits for
# cloud-final; --no-block returns as soon as it is queued. A failed unit of an earlier run
# would make the name taken, hence reset-failed; a unit still waiting is left alone and this
# run fails, rather than signal twice.
hand_over_registration_wait() {
  local dir await
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  await="$dir/await-registration.sh"
  [[ -f "$await" ]] || die "$await is missing: the image is incomplete"
  if systemctl is-active --quiet "$REGISTRATION_UNIT"; then
    die "$REGISTRATION_UNIT is already waiting for the agent; not starting a second one"
  fi
  systemctl reset-failed "$REGISTRATION_UNIT" >/dev/null 2>&1 || true
  local -a env=(
    "ECS_CLUSTER=$ECS_CLUSTER"
    "STACK_NAME=$STACK_NAME"
    "CFN_SIGNAL_RESOURCE=$CFN_SIGNAL_RESOURCE"
    "AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION"
    "PROXY_URL=${PROXY_URL:-}"
    "HEALTHCHECK_TIMEOUT_SECONDS=$TIMEOUT_SECONDS"
    "HEALTHCHECK_INTERVAL_SECONDS=$INTERVAL_SECONDS"
  )
  local -a setenv=()
  local pair
  for pair in "${env[@]}"; do
    setenv+=("--setenv=$pair")
  done
  systemd-run --no-block --unit="$REGISTRATION_UNIT" \
    --description="Wait for the ECS agent to join ${ECS_CLUSTER}, then signal ${CFN_SIGNAL_RESOURCE}" \
    "${setenv[@]}" /bin/bash "$await" ||
    die "could not start $REGISTRATION_UNIT; nothing will wait for the agent"
  log "handed the wait for cluster ${ECS_CLUSTER} and the signal to ${CFN_SIGNAL_RESOURCE} to ${REGISTRATION_UNIT} (journalctl -u ${REGISTRATION_UNIT})"
}

main() {
  validate_inputs
  configure_ecs_agent
  configure_service_proxies
  configure_cloudwatch_agent_proxy
  configure_cloudwatch_agent_logs
  if [[ -n "${PROXY_URL:-}" ]]; then
    log "configured cluster ${ECS_CLUSTER}, CloudWatch logs and proxy ${PROXY_URL}"
  else
    log "configured cluster ${ECS_CLUSTER} and CloudWatch logs (no proxy)"
  fi
  start_services
  hand_over_registration_wait
}

main "$@"
