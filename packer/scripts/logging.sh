#!/usr/bin/env bash
# Restores the log files the book's CloudWatch set ships. AL2023 logs only to the systemd
# journal: there is no /var/log/messages, Docker logs to the journal instead of
# /var/log/docker, and /var/log/dmesg is gone. rsyslog (installed by packages.sh) reads the
# journal and writes those three files again, so the CloudWatch agent can tail them like the
# ECS agent's own files under /var/log/ecs/. The agent's native journald input is too recent
# to rely on (see files/firstrun.sh).
#
# Test seam: LOGGING_ROOT (default /) prefixes the files written; rsyslogd and systemctl are
# taken from PATH.
set -euo pipefail

ROOT="${LOGGING_ROOT:-/}"
readonly RULES_FILE="${ROOT%/}/etc/rsyslog.d/30-ecs-ami-pipeline.conf"
readonly LOGROTATE_FILE="${ROOT%/}/etc/logrotate.d/ecs-ami-pipeline"

main() {
  mkdir -p "$(dirname "$RULES_FILE")" "$(dirname "$LOGROTATE_FILE")"
  # Included by /etc/rsyslog.conf before its catch-all /var/log/messages rule, so `stop`
  # keeps the Docker daemon out of /var/log/messages, as on the book's image.
  cat >"$RULES_FILE" <<'EOF'
# Managed by ecs-ami-pipeline (packer/scripts/logging.sh).
if $programname == 'dockerd' or $programname == 'containerd' then {
    action(type="omfile" file="/var/log/docker")
    stop
}
kern.*    /var/log/dmesg
EOF
  chmod 0644 "$RULES_FILE"

  cat >"$LOGROTATE_FILE" <<'EOF'
# Managed by ecs-ami-pipeline (packer/scripts/logging.sh).
/var/log/docker /var/log/dmesg {
    daily
    rotate 7
    compress
    delaycompress
    missingok
    notifempty
    sharedscripts
    postrotate
        /usr/bin/systemctl kill -s HUP rsyslog.service >/dev/null 2>&1 || true
    endscript
}
EOF
  chmod 0644 "$LOGROTATE_FILE"

  rsyslogd -N1
  systemctl enable rsyslog
  printf 'logging.sh: rsyslog writes /var/log/messages, /var/log/docker and /var/log/dmesg from the journal\n'
}

main "$@"
