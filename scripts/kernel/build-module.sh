#!/usr/bin/env bash
# Build kernel/knpu.ko out of tree against the resolved Debian 6.12 headers,
# with W=1. Extra arguments go to make (e.g. C=1 for sparse, clean).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

[ -f "$KNPU_KERNEL_ENV" ] || bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
# shellcheck source=/dev/null
. "$KNPU_KERNEL_ENV"
[ -d "$KNPU_KHEADERS" ] || bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
knpu_apt_install gcc make libelf-dev
case " $* " in *" C=1 "* | *" C=2 "*) knpu_apt_install sparse ;; esac

t0=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
make -C "$KNPU_KHEADERS" M="$KNPU_ROOT/kernel" W=1 CONFIG_DRM_ACCEL_KNPU=m -j"$(nproc)" "$@" 2>&1 |
	tee "$log"
rc=${PIPESTATUS[0]}
set -e
# Warning-free is part of the build: compiler (W=1) and sparse (C=1/2) alike.
if [ "$rc" -eq 0 ] && grep -q 'warning:' "$log"; then
	knpu_log "the module build has warnings"
	rc=1
fi
knpu_log "module build finished in $(($(date +%s) - t0)) s, exit $rc"
exit "$rc"
