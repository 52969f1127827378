#!/usr/bin/env bash
# `make install` as a distribution does it: installs the CMake build tree into
# a DESTDIR, checks the tree (library with its SONAME, headers, pkg-config
# file, CMake package, tools, man pages, completions, udev rule, systemd
# units), then builds and runs a consumer with pkg-config and one with
# find_package(npu) against that tree.
#   install-test.sh BUILD_DIR
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

build=$(cd "${1:?usage: install-test.sh BUILD_DIR}" && pwd)
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
destdir=$work/root
root=$destdir$prefix
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

DESTDIR=$destdir cmake --install "$build" >"$work/install.log" || { cat "$work/install.log"; exit 1; }

libdir=$(dirname "$(find "$root" -name 'libnpu.so.0' | head -1)")
if [ "$libdir" = . ]; then
	fail "no libnpu.so.0 under $root"
fi
soname=$(readelf -d "$libdir/libnpu.so.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libnpu.so.0 ] || fail "libnpu's SONAME is '$soname', not libnpu.so.0"
[ -L "$libdir/libnpu.so" ] || fail "no development symlink libnpu.so"
for tool in npu-smi npu-run npu-asm npu-infer npu-bench npu-device-plugin npu-ocr; do
	for f in "bin/$tool" "share/man/man1/$tool.1" "share/bash-completion/completions/$tool"; do
		[ -e "$root/$f" ] || fail "$prefix/$f not installed"
	done
done
for f in \
	include/npu/npu.hpp include/npu/npu.h include/npu/device.hpp include/drm/knpu_accel.h \
	lib/udev/rules.d/70-knpu.rules \
	lib/systemd/system/npu-smi-exporter.service lib/systemd/system/npu-device-plugin.service; do
	[ -e "$root/$f" ] || fail "$prefix/$f not installed"
done
for f in "${libdir#"$root/"}/pkgconfig/npu.pc" "${libdir#"$root/"}/cmake/npu/npuConfig.cmake" \
	"${libdir#"$root/"}/cmake/npu/npuConfigVersion.cmake" "${libdir#"$root/"}/cmake/npu/npuTargets.cmake"; do
	[ -e "$root/$f" ] || fail "$prefix/$f not installed"
done
grep -q "^ExecStart=$prefix/bin/npu-device-plugin serve" "$root/lib/systemd/system/npu-device-plugin.service" ||
	fail "npu-device-plugin.service does not run $prefix/bin/npu-device-plugin"
grep -q 'DRIVERS=="knpu".*GROUP="render".*MODE="0660"' "$root/lib/udev/rules.d/70-knpu.rules" ||
	fail "the udev rule does not put knpu nodes in group render, 0660"
man -l "$root/share/man/man1/npu-device-plugin.1" 2>/dev/null | grep -q "cdi" ||
	zcat -f "$root/share/man/man1/npu-device-plugin.1" | grep -q "cdi" || fail "npu-device-plugin.1 does not list its commands"
# The units parse without unknown settings, and their confinement scores
# well by systemd's own measure (0 = fully confined, 10 = exposed).
for unit in npu-device-plugin npu-smi-exporter; do
	file=$prefix/lib/systemd/system/$unit.service
	report=$(systemd-analyze security --offline=yes --root="$destdir" "$file" 2>"$work/$unit.err")
	[ ! -s "$work/$unit.err" ] || fail "$unit.service: $(cat "$work/$unit.err")"
	exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' <<<"$report")
	awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 3.0) }' ||
		fail "$unit.service: systemd-analyze security exposure ${exposure:-unknown}, more than 3.0"
done
for c in "$root"/share/bash-completion/completions/*; do
	bash -n "$c" || fail "$c is not valid bash"
done
[ "$failures" -eq 0 ] && echo "ok: the installed tree under DESTDIR$prefix"

# pkg-config consumer: the .pc names the real prefix; the sysroot maps it into DESTDIR.
export PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$destdir
if flags=$(pkg-config --cflags --libs npu); then
	# shellcheck disable=SC2086 # word splitting of the flags is intended
	# The .pc carries no language standard (C consumers use it too): the C++
	# consumer asks for the C++20 that libnpu's headers need itself.
	if g++ -std=c++20 -o "$work/consumer-pc" "$KNPU_ROOT/packaging/tests/consumer/consumer.cpp" $flags &&
		LD_LIBRARY_PATH=$libdir "$work/consumer-pc"; then
		echo "ok: pkg-config consumer built and ran ($flags)"
	else
		fail "pkg-config consumer (flags: $flags)"
	fi
else
	fail "pkg-config --cflags --libs npu"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# CMake consumer.
if cmake -S "$KNPU_ROOT/packaging/tests/consumer" -B "$work/consumer-cmake" -G Ninja \
	-DCMAKE_PREFIX_PATH="$root" >"$work/cmake.log" 2>&1 &&
	cmake --build "$work/consumer-cmake" >>"$work/cmake.log" 2>&1 &&
	LD_LIBRARY_PATH=$libdir "$work/consumer-cmake/consumer"; then
	echo "ok: find_package(npu) consumer built and ran"
else
	cat "$work/cmake.log"
	fail "find_package(npu) consumer"
fi

[ "$failures" -eq 0 ]
