#!/usr/bin/env bash
# checkpatch --strict over the driver and the uapi header, each checked at the
# path it has in the kernel tree (drivers/accel/knpu/, include/uapi/drm/) so
# that path-dependent rules (uapi headers, for one) apply as upstream. Fails
# on any error, warning or check.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

[ -x "$KNPU_LINUX_SRC/scripts/checkpatch.pl" ] || bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
knpu_apt_install perl

cd "$KNPU_ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=()
while read -r f; do
	case $f in
	kernel/*) dst=drivers/accel/knpu/${f#kernel/} ;;
	uapi/*) dst=include/uapi/${f#uapi/} ;;
	*) continue ;;
	esac
	mkdir -p "$tmp/$(dirname "$dst")"
	cp "$f" "$tmp/$dst"
	files+=("$dst")
done < <(git ls-files --cached --others --exclude-standard -- \
	'kernel/*.[ch]' 'kernel/Kconfig' 'kernel/Makefile' 'uapi/*.h' | sort -u)
[ ${#files[@]} -gt 0 ] || knpu_die "no files to check"

rc=0
(cd "$tmp" && "$KNPU_LINUX_SRC/scripts/checkpatch.pl" --strict --no-tree --terse \
	--show-types --ignore FILE_PATH_CHANGES -f "${files[@]}") || rc=$?
[ $rc -eq 0 ] && knpu_log "checkpatch --strict: ${#files[@]} files clean"

# kernel-doc comments must parse and describe every member and parameter.
mapfile -t docfiles < <(printf '%s\n' "${files[@]}" | grep '\.[ch]$')
if (cd "$tmp" && "$KNPU_LINUX_SRC/scripts/kernel-doc" -none -Wall "${docfiles[@]}") 2>&1 |
	grep . >&2; then
	rc=1
else
	knpu_log "kernel-doc: ${#docfiles[@]} files clean"
fi
exit $rc
