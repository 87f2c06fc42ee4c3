# Shared setup for the bats suites: repository paths, command stubs and file snapshots.
# shellcheck shell=bash

# Without a subshell or dirname: every test loads this file, and forks are what these suites spend.
REPO_ROOT="${BATS_TEST_DIRNAME%/*/*}"
export REPO_ROOT
HELPERS="$REPO_ROOT/test/bats/helpers"
export HELPERS

# Puts a directory of stubs first on PATH; every stub appends "name arg..." to STUB_LOG.
setup_stubs() {
  STUB_BIN="$BATS_TEST_TMPDIR/stub-bin"
  STUB_LOG="$BATS_TEST_TMPDIR/stub.log"
  mkdir -p "$STUB_BIN"
  : >"$STUB_LOG"
  export STUB_BIN STUB_LOG
  export PATH="$STUB_BIN:$PATH"
}

# stub NAME [BODY]: creates a stub command that logs its call and then runs BODY (bash).
stub() {
  local name="$1" body="${2:-}"
  # printf, not cat with a here-document: one process fewer per stub. $* and $STUB_LOG are the
  # stub's own, expanded when it runs.
  # shellcheck disable=SC2016
  printf '#!/usr/bin/env bash\nprintf '"'"'%%s\\n'"'"' "%s $*" >>"$STUB_LOG"\n%s\n' "$name" "$body" >"$STUB_BIN/$name"
  chmod +x "$STUB_BIN/$name"
}

# Prints "checksum path" for every file under $1, sorted, for before/after comparisons.
snapshot_tree() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# Prints a buildspec (or any YAML file) as JSON, with PyYAML or the repo's npm yaml package.
yaml_to_json() {
  # One Python start, not two: exit 3 means PyYAML is missing.
  local status=0
  python3 -c 'import json, sys
try:
    import yaml
except ImportError:
    sys.exit(3)
print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$1" || status=$?
  if ((status == 0)); then
    return 0
  elif ((status != 3)); then
    return "$status"
  elif [[ -d "$REPO_ROOT/node_modules/yaml" ]]; then
    (cd "$REPO_ROOT" && node -e 'const y = require("yaml"); const fs = require("fs"); console.log(JSON.stringify(y.parse(fs.readFileSync(process.argv[1], "utf8"))))' "$1")
  else
    echo "neither PyYAML nor node_modules/yaml is available to read $1" >&2
    return 1
  fi
}

# Fails when FILE has a line matching PATTERN (a bare `! grep` does not fail a bats test
# unless it is the test's last command).
refute_line_in() {
  local file="$1" pattern="$2"
  if grep -qE -- "$pattern" "$file"; then
    printf 'unexpected line matching %s in %s:\n' "$pattern" "$file" >&2
    grep -nE -- "$pattern" "$file" >&2
    return 1
  fi
}
