#!/usr/bin/env bash
# Build QEMU (Debian's source package, Debian's patches applied) with the KNPU
# device model and its qtest, from a fresh Debian bookworm machine.
#
# Products (see scripts/lib/common.sh):
#   $KNPU_QEMU_BIN   wrapper "qemu-system-x86_64" that adds the firmware paths
#   $KNPU_QTEST_BIN  the knpu qtest binary
#
# With KNPU_QEMU_SANITIZE=1: a second build with ASan and UBSan
# (--enable-sanitizers), for the device fuzzer (`make fuzz-device`), in
# $KNPU_CACHE/qemu-asan with its wrapper $KNPU_CACHE/bin/asan/qemu-system-x86_64
# (libqtest takes the target from the binary's name). It reuses the QEMU
# source fetched into $KNPU_CACHE/qemu when there is one.
#
# The configured build tree is cached in $KNPU_CACHE/qemu/<key>, keyed by the
# QEMU source version, the configure flags and the version of our tree hooks.
# The tree also gets scripts/qemu/patches/*.patch: fixes of QEMU's core that
# the Debian package lacks, each saying why (part of the key).
# Our own sources (qemu-device/) are re-synced into the tree on every run and
# ninja rebuilds incrementally, so a run with no change takes seconds.
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# Bump when the way qemu-device/ is hooked into the tree changes.
HOOKS_VERSION=3
CONFIGURE_FLAGS=(
	--target-list=x86_64-softmmu
	--without-default-features
	--enable-tcg
	--enable-fdt=system
	--enable-virtfs
	--enable-attr
	--enable-cap-ng
	--disable-docs
	--disable-install-blobs
	--disable-werror
)
BUILD_DEPS=(
	dpkg-dev ninja-build meson pkg-config gcc libc6-dev make python3
	libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev flex bison
	libcap-ng-dev libattr1-dev rsync libdnnl-dev patch
)
RUNTIME_DEPS=(seabios qemu-system-data ipxe-qemu libdnnl2)

QROOT=$KNPU_CACHE/qemu
SHARED_SRC_ROOT=$QROOT
if [ "${KNPU_QEMU_SANITIZE:-0}" = 1 ]; then
	QROOT=$KNPU_CACHE/qemu-asan
	CONFIGURE_FLAGS+=(--enable-sanitizers)
	KNPU_QEMU_BIN=$KNPU_CACHE/bin/asan/qemu-system-x86_64
	KNPU_QTEST_BIN=$KNPU_CACHE/bin/asan/knpu-qtest
fi
mkdir -p "$QROOT" "$(dirname "$KNPU_QEMU_BIN")"

# One build at a time per cache (make qemu may be run by several parts).
exec 9>"$QROOT/.lock"
flock 9

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# --- deb-src entry ----------------------------------------------------------
# apt-get source needs a deb-src entry for Debian's archive. When apt knows no
# qemu source package, add one mirroring the deb entries of debian.sources.
apt_update() {
	$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
	touch "$KNPU_CACHE/.apt-updated"
}
qemu_source_known() {
	# grep -q would exit early: apt-cache's SIGPIPE fails the pipe (pipefail)
	apt-cache showsrc --only-source qemu 2>/dev/null | grep '^Version:' >/dev/null
}
if ! qemu_source_known; then
	debsrc=/etc/apt/sources.list.d/knpu-deb-src.sources
	if [ ! -f "$debsrc" ]; then
		src=/etc/apt/sources.list.d/debian.sources
		[ -f "$src" ] || knpu_die "no deb-src entry for qemu and no $src to mirror"
		knpu_log "adding $debsrc (deb-src entries mirroring $src)"
		sed -e 's/^Types:.*/Types: deb-src/' "$src" | $sudo tee "$debsrc" >/dev/null
	fi
	apt_update
	qemu_source_known || knpu_die "apt knows no qemu source package"
fi

knpu_apt_install "${BUILD_DEPS[@]}" "${RUNTIME_DEPS[@]}"

# --- QEMU source --------------------------------------------------------------
# The newest source version apt knows (bookworm or bookworm-security).
QEMU_VERSION=""
while read -r v; do
	if [ -z "$QEMU_VERSION" ] || dpkg --compare-versions "$v" gt "$QEMU_VERSION"; then
		QEMU_VERSION=$v
	fi
done < <(apt-cache showsrc --only-source qemu 2>/dev/null | sed -n 's/^Version: //p')
[ -n "$QEMU_VERSION" ] || knpu_die "apt knows no qemu source package"

shopt -s nullglob
PATCHES=("$KNPU_ROOT"/scripts/qemu/patches/*.patch)
shopt -u nullglob
key=$( (printf '%s\n' "$QEMU_VERSION" "${CONFIGURE_FLAGS[@]}" "hooks=$HOOKS_VERSION"
	cat "${PATCHES[@]}" /dev/null) | sha256sum | cut -c1-12)
SRC=$QROOT/src-$QEMU_VERSION
# The sanitizer build patches its own copy of the plain build's source.
if [ ! -f "$SRC/.complete" ] && [ -f "$SHARED_SRC_ROOT/src-$QEMU_VERSION/.complete" ]; then
	SRC=$SHARED_SRC_ROOT/src-$QEMU_VERSION
fi
TREE=$QROOT/tree-$key            # patched source tree (hooks applied)
BLD=$TREE/build

if [ ! -f "$SRC/.complete" ]; then
	knpu_log "fetching qemu $QEMU_VERSION source (apt-get source)"
	tmp=$(mktemp -d "$QROOT/.fetch.XXXXXX")
	# apt drops privileges to _apt for downloads; make the directory reachable.
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get -q source "qemu=$QEMU_VERSION" >fetch.log 2>&1) ||
		{ cat "$tmp/fetch.log" >&2; knpu_die "apt-get source qemu failed"; }
	d=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n1)
	[ -n "$d" ] || knpu_die "apt-get source produced no tree"
	rm -rf "$SRC"
	mv "$d" "$SRC"
	touch "$SRC/.complete"
	rm -rf "$tmp"
fi

# --- patched tree ---------------------------------------------------------------
# Trees of other keys are stale (another version, flags or hooks).
for old in "$QROOT"/tree-* "$QROOT"/src-*; do
	if [ -d "$old" ] && [ "$old" != "$TREE" ] && [ "$old" != "$SRC" ]; then
		knpu_log "removing stale $old"
		rm -rf "$old"
	fi
done
if [ ! -f "$TREE/.hooked" ]; then
	knpu_log "preparing tree $TREE"
	rm -rf "$TREE"
	cp -a "$SRC" "$TREE"
	rm -f "$TREE/.complete"
	for p in "${PATCHES[@]}"; do
		patch -d "$TREE" -p1 --batch --quiet <"$p" ||
			knpu_die "$p does not apply to qemu $QEMU_VERSION"
	done
	mkdir -p "$TREE/hw/misc/knpu"
	# The device model: hw/misc/knpu is a copy of qemu-device/ (synced below).
	grep -q "subdir('knpu')" "$TREE/hw/misc/meson.build" ||
		printf "\nsubdir('knpu')\n" >>"$TREE/hw/misc/meson.build"
	grep -q '^source knpu/Kconfig' "$TREE/hw/misc/Kconfig" ||
		printf '\nsource knpu/Kconfig\n' >>"$TREE/hw/misc/Kconfig"
	# The qtest: built as tests/qtest/knpu-test for x86_64, from knpu-test.c
	# (main) plus the sources hw/misc/knpu/tests/meson.build lists in
	# knpu_qtest_sources (hw/ is configured before tests/).
	ln -sf ../../hw/misc/knpu/tests/knpu-test.c "$TREE/tests/qtest/knpu-test.c"
	python3 - "$TREE/tests/qtest/meson.build" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
if "'knpu-test'" not in s:
    # Add knpu-test to the x86_64 qtest list.
    s, n = re.subn(r"(qtests_x86_64\s*=\s*\\?\s*\n?)", r"\1  ['knpu-test'] + \\\n  ", s, count=1)
    if n != 1:
        sys.exit("cannot find qtests_x86_64 in " + p)
if "knpu_qtest_sources" not in s:
    # Its extra sources, in the per-test dict read by the executable loop.
    s, n = re.subn(r"^qtest_executables = \{\}$",
                   "qtests += {'knpu-test': knpu_qtest_sources}\n\\g<0>", s,
                   count=1, flags=re.M)
    if n != 1:
        sys.exit("cannot find qtest_executables in " + p)
open(p, "w").write(s)
PY
	# Trace events: hw/misc/knpu/trace-events -> hw/misc/knpu/trace.h.
	grep -q "'hw/misc/knpu'," "$TREE/meson.build" ||
		sed -i "s|^    'hw/misc',\$|&\n    'hw/misc/knpu',|" "$TREE/meson.build"
	grep -q "'hw/misc/knpu'," "$TREE/meson.build" ||
		knpu_die "cannot hook hw/misc/knpu into trace_events_subdirs"
	touch "$TREE/.hooked"
fi

# Sync our sources; rsync -c keeps mtimes of unchanged files, so ninja only
# rebuilds what changed.
rsync -rc --delete --exclude '.*' "$KNPU_ROOT/qemu-device/" "$TREE/hw/misc/knpu/"

if [ ! -f "$BLD/build.ninja" ]; then
	knpu_log "configuring qemu $QEMU_VERSION (${CONFIGURE_FLAGS[*]})"
	rm -rf "$BLD"
	mkdir -p "$BLD"
	(cd "$BLD" && ../configure "${CONFIGURE_FLAGS[@]}" >configure.log 2>&1) ||
		{ tail -n 40 "$BLD/configure.log" >&2; knpu_die "qemu configure failed (see $BLD/configure.log)"; }
fi

knpu_log "building qemu (ninja)"
start=$(date +%s)
if ! ninja -C "$BLD" -j"$(nproc)" qemu-system-x86_64 tests/qtest/knpu-test >"$BLD/ninja.log" 2>&1; then
	grep -E 'error|FAILED' -A5 "$BLD/ninja.log" | head -n 60 >&2
	knpu_die "qemu build failed (see $BLD/ninja.log)"
fi
knpu_log "ninja done in $(($(date +%s) - start)) s"

# --- products -------------------------------------------------------------------
# Copy the binaries out of the build tree (atomic rename) so that a rebuild does
# not pull the binary from under a running guest.
install_if_changed() {
	local from=$1 to=$2
	if ! cmp -s "$from" "$to"; then
		cp -f "$from" "$to.tmp.$$"
		mv -f "$to.tmp.$$" "$to"
	fi
}
install_if_changed "$BLD/qemu-system-x86_64" "$QROOT/qemu-system-x86_64.real"
install_if_changed "$BLD/tests/qtest/knpu-test" "$KNPU_QTEST_BIN"

wrapper=$(
	cat <<W
#!/bin/sh
# Generated by scripts/qemu/build.sh: QEMU $QEMU_VERSION with the KNPU device.
# Debian's firmware (seabios, qemu-system-data, ipxe-qemu) is found through -L.
exec "$QROOT/qemu-system-x86_64.real" -L /usr/share/seabios -L /usr/share/qemu -L /usr/lib/ipxe/qemu "\$@"
W
)
if [ "$(cat "$KNPU_QEMU_BIN" 2>/dev/null)" != "$wrapper" ]; then
	printf '%s\n' "$wrapper" >"$KNPU_QEMU_BIN.tmp.$$"
	chmod 755 "$KNPU_QEMU_BIN.tmp.$$"
	mv -f "$KNPU_QEMU_BIN.tmp.$$" "$KNPU_QEMU_BIN"
fi
# The tree in use, for tools such as scripts/qemu/checkpatch.sh.
ln -sfn "$TREE" "$QROOT/tree"
knpu_log "qemu: $KNPU_QEMU_BIN ; qtest: $KNPU_QTEST_BIN"
