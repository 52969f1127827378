#!/usr/bin/env bash
# CTest test host.package: libnpu used from outside the project. Installs the
# build into a temporary prefix, then builds
#   - a C11 program with gcc and with clang from `pkg-config --cflags --libs npu`
#     (no C++ flag may reach a C compiler; the uapi header is installed),
#   - a C++ program with find_package(npu) from the install and from the
#     build tree (export()),
# and runs each. Usage: package_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
pc_dir=$(dirname "$(find "$work/prefix" -name npu.pc | head -n1)")
LD_LIBRARY_PATH=$(dirname "$pc_dir")
export PKG_CONFIG_PATH=$pc_dir LD_LIBRARY_PATH
cflags=$(pkg-config --cflags npu)
libs=$(pkg-config --libs npu)
case " $cflags " in *-std=*) echo "pkg-config Cflags carry a language standard: $cflags" >&2; exit 1 ;; esac
for cc in gcc clang; do
	# shellcheck disable=SC2086 # pkg-config output is a list of flags
	"$cc" -std=c11 -Wall -Wextra -Werror -pedantic $cflags "$here/package_consumer/consumer.c" \
		$libs -o "$work/consumer-$cc"
	[ "$("$work/consumer-$cc")" = "NPU_ERROR_NO_DEVICE 1" ] || { echo "$cc consumer printed the wrong thing" >&2; exit 1; }
done

for from in install build-tree; do
	if [ $from = install ]; then
		where=(-DCMAKE_PREFIX_PATH="$work/prefix")
	else
		where=(-Dnpu_DIR="$build/libnpu")
	fi
	cmake -S "$here/package_consumer" -B "$work/$from" -G Ninja "${where[@]}" >/dev/null
	cmake --build "$work/$from" >/dev/null
	"$work/$from/consumer" >/dev/null
done
echo "package: C (gcc, clang) through pkg-config, C++ through find_package from the install and the build tree: ok"
