#!/usr/bin/env bash
# Waits until the ECS agent has joined ECS_CLUSTER, then tells CloudFormation whether it did
# (cfn-signal). The image keeps it at /opt/ecs-ami-pipeline/await-registration.sh; firstrun.sh
# starts it as the transient unit ecs-ami-pipeline-registration.service and returns.
#
# Why a unit of its own: the cluster stack runs cfn-init, and so firstrun.sh, from user data,
# inside cloud-final.service, and the vendor's ecs.service is ordered After=cloud-final.service.
# The agent therefore cannot start before cloud-final ends; a wait for it inside cloud-final
# could only time out. Out here, the wait starts at once (no ordering on anything), cloud-final
# ends, Docker and the agent start, and this script sees the agent register. The vendor units
# stay as they are, so ecs-init updates keep reaching the instances.
#
# Exactly one signal is sent, from the EXIT trap: success only when the agent reported the
# cluster, failure for a timeout or any other error, so the stack never counts an instance
# whose agent did not register.
#
# Inputs (environment, set by firstrun.sh from the cluster stack's cfn-init):
#   ECS_CLUSTER, STACK_NAME, CFN_SIGNAL_RESOURCE (logical id of the auto scaling group),
#   AWS_DEFAULT_REGION, PROXY_URL (optional: cfn-signal's --https-proxy)
# Test seams (production defaults unchanged):
#   ECS_AGENT_METADATA_URL        agent introspection endpoint (default http://localhost:51678/v1/metadata)
#   HEALTHCHECK_TIMEOUT_SECONDS   how long to wait for the agent to join the cluster (default 300)
#   HEALTHCHECK_INTERVAL_SECONDS  pause between polls (default 5)
#   CFN_SIGNAL                    the signal helper (default /opt/aws/bin/cfn-signal)
#   services are inspected through the systemctl found on PATH.
set -euo pipefail

readonly METADATA_URL="${ECS_AGENT_METADATA_URL:-http://localhost:51678/v1/metadata}"
readonly TIMEOUT_SECONDS="${HEALTHCHECK_TIMEOUT_SECONDS:-300}"
readonly INTERVAL_SECONDS="${HEALTHCHECK_INTERVAL_SECONDS:-5}"
readonly CFN_SIGNAL="${CFN_SIGNAL:-/opt/aws/bin/cfn-signal}"

log() {
  printf 'await-registration: %s\n' "$*"
}

die() {
  printf 'await-registration: error: %s\n' "$*" >&2
  exit 1
}

validate_inputs() {
  local name
  local -a missing=()
  for name in ECS_CLUSTER STACK_NAME CFN_SIGNAL_RESOURCE AWS_DEFAULT_REGION; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  # Without these there is no one to signal: the stack's signal timeout is all that is left.
  if ((${#missing[@]} > 0)); then
    die "missing required environment variable(s): ${missing[*]} (firstrun.sh passes them on); no signal sent"
  fi
  [[ "$TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] ||
    die "HEALTHCHECK_TIMEOUT_SECONDS '$TIMEOUT_SECONDS' is not a whole number of seconds; no signal sent"
  [[ "$INTERVAL_SECONDS" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    die "HEALTHCHECK_INTERVAL_SECONDS '$INTERVAL_SECONDS' is not a number of seconds; no signal sent"
}

# EXIT trap: reports the script's exit status to the stack, once.
signal_exit_status() {
  local status=$?
  trap - EXIT
  local -a args=(-e "$status" --stack "$STACK_NAME" --resource "$CFN_SIGNAL_RESOURCE" --region "$AWS_DEFAULT_REGION")
  [[ -z "${PROXY_URL:-}" ]] || args+=(--https-proxy "$PROXY_URL")
  if "$CFN_SIGNAL" "${args[@]}"; then
    log "signalled exit status ${status} to ${CFN_SIGNAL_RESOURCE} of stack ${STACK_NAME}"
  else
    printf 'await-registration: error: cfn-signal could not report exit status %s; the stack will wait for its signal timeout\n' "$status" >&2
    ((status != 0)) || status=1
  fi
  exit "$status"
}

service_states() {
  local unit state
  for unit in docker.service ecs.service; do
    state="$(systemctl is-active "$unit" 2>/dev/null || true)"
    printf '%s=%s ' "$unit" "${state:-unknown}"
  done
}

wait_for_cluster() {
  local deadline body cluster last="no answer yet"
  deadline=$((SECONDS + TIMEOUT_SECONDS))
  log "waiting up to ${TIMEOUT_SECONDS}s for the ECS agent to join cluster ${ECS_CLUSTER}"
  while true; do
    # --noproxy: the introspection endpoint is local, whatever proxy the environment names.
    if body="$(curl --silent --show-error --fail --noproxy '*' --max-time 5 "$METADATA_URL" 2>&1)"; then
      cluster="$(jq -r '.Cluster // empty' <<<"$body" 2>/dev/null || true)"
      if [[ "$cluster" == "$ECS_CLUSTER" ]]; then
        log "the ECS agent joined cluster ${ECS_CLUSTER}"
        return 0
      fi
      last="$body"
    else
      last="request failed: $body"
    fi
    if ((SECONDS >= deadline)); then
      die "the ECS agent did not join cluster ${ECS_CLUSTER} within ${TIMEOUT_SECONDS}s; ${METADATA_URL} last said: ${last:0:500} ($(service_states))"
    fi
    sleep "$INTERVAL_SECONDS"
  done
}

main() {
  validate_inputs
  trap signal_exit_status EXIT
  # A stop of the unit (or a shutdown) during the wait is a failure to report, not a silence.
  trap 'exit 143' TERM
  trap 'exit 130' INT
  wait_for_cluster
}

main "$@"
