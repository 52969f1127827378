#!/usr/bin/env bash
# QEMU's scripts/checkpatch.pl over the device model, as the files sit in the
# QEMU tree (hw/misc/knpu/, tests/qtest/knpu-test.c). Needs `make qemu` first.
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

tree=$KNPU_CACHE/qemu/tree
[ -f "$tree/scripts/checkpatch.pl" ] || knpu_die "no QEMU tree: run make qemu"
rsync -rc --delete --exclude '.*' "$KNPU_ROOT/qemu-device/" "$tree/hw/misc/knpu/"
cd "$tree" || exit 1
rc=0
for f in hw/misc/knpu/knpu.c hw/misc/knpu/knpu-hw.h hw/misc/knpu/trace.h \
	hw/misc/knpu/meson.build tests/qtest/knpu-test.c; do
	perl scripts/checkpatch.pl --no-tree --terse -f "$f" || rc=1
done
exit "$rc"
