#!/usr/bin/env bash
# `make test`: start the services the tests need (reusing running ones), run every test, then stop
# exactly what this run started, even when pytest fails. Exits with pytest's code; "no tests
# collected" (5) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

CLI=.venv/bin/chinook-pulse
mkdir -p .run
STARTED="$(mktemp .run/test-started.XXXXXX)"

cleanup() {
    local started
    started="$(tr -d '[:space:]' <"$STARTED" 2>/dev/null || true)"
    if [[ -n "$started" ]]; then
        echo "test.sh: stopping what this run started: $started"
        "$CLI" down --only "$started" || echo "test.sh: could not stop $started (see .run/logs/)" >&2
    fi
    rm -f "$STARTED"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$CLI" up --only postgres,kafka,connect --started-file "$STARTED"; then
    echo "test.sh: the services did not start, see above and .run/logs/" >&2
    exit 1
fi

.venv/bin/pytest -p no:cacheprovider "$@"
code=$?
if [[ $code -eq 5 ]]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    code=1
fi
exit $code
