#!/usr/bin/env bash
# Run the KNPU device model's qtests against the QEMU built by build.sh.
# Prints TAP and a closing "N passed, N failed" line; exits non-zero on any
# failure. Usage: run-qtest.sh [-p /x86_64/knpu/test/path]...  (extra args go
# to the glib test binary). KNPU_QTEST_NO_BUILD=1 skips the (re)build check.
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# Test the current sources: build.sh is a no-op (about a second) when
# nothing changed, and builds QEMU first on a fresh machine.
if [ "${KNPU_QTEST_NO_BUILD:-0}" != 1 ] || [ ! -x "$KNPU_QEMU_BIN" ] ||
	[ ! -x "$KNPU_QTEST_BIN" ]; then
	bash "$KNPU_ROOT/scripts/qemu/build.sh" >&2
fi

export QTEST_QEMU_BINARY=$KNPU_QEMU_BIN
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
timeout --kill-after=10 "${KNPU_QTEST_TIMEOUT:-300}" \
	"$KNPU_QTEST_BIN" --tap -k "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^not ok ' "$log" || true)
# A test that aborts ("Bail out!") ends the run: count it as failed.
failed=$((failed + $(grep -c '^Bail out!' "$log" || true)))
if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then
	rc=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]; then
	echo "# no test ran" >&2
	rc=1
fi
echo "knpu-qtest: $passed passed, $failed failed"
exit "$rc"
