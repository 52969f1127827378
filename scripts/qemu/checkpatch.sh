#!/usr/bin/env bash
# QEMU's scripts/checkpatch.pl over the device model (hw/misc/knpu/ in the
# QEMU tree) and its qtests. Needs `make qemu` first.
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

tree=$KNPU_CACHE/qemu/tree
[ -f "$tree/scripts/checkpatch.pl" ] || knpu_die "no QEMU tree: run make qemu"
rsync -rc --delete --exclude '.*' "$KNPU_ROOT/qemu-device/" "$tree/hw/misc/knpu/"
rc=0
cd "$tree" || exit 1
for f in hw/misc/knpu/*.[ch] hw/misc/knpu/trace-events hw/misc/knpu/meson.build; do
	perl scripts/checkpatch.pl --no-tree --terse -f "$f" || rc=1
done
# The qtests, named tests/... so that checkpatch applies its rules for tests
# (g_assert_cmp* and friends are allowed there).
cd "$tree/hw/misc/knpu" || exit 1
for f in tests/*.[ch] tests/meson.build; do
	perl "$tree/scripts/checkpatch.pl" --no-tree --terse -f "$f" || rc=1
done
exit "$rc"
