#!/usr/bin/env bash
# CTest `debug-harness-kmemleak`: proves that a leak kmemleak finds after the
# run fails it (the debug guest tier's leak check, tests/harness/init and
# guest-run.sh). Builds leak-module/ against the debug guest kernel (`make
# debug-kernel`), boots that kernel without the driver, loads the module (it
# loses one kmalloc) from a program that passes, and checks that guest-run.sh
# exits 3, says kmemleak found a leak, and that the report shows the module's
# object: 2048 bytes, allocated by insmod from a module's init (the module's
# own frame is an address: its init code is freed once it has run).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$KNPU_GUEST_KERNEL" = debug ] || knpu_die "KNPU_GUEST_KERNEL=debug: the check needs the debug guest kernel"
knpu_load_kernel_env
knpu_apt_install gcc make kmod

name=debug-harness-kmemleak
module_dir=$KNPU_BUILD/guest/leak-module
rm -rf "$module_dir"
mkdir -p "$module_dir"
cp "$KNPU_HARNESS/leak-module/Kbuild" "$KNPU_HARNESS/leak-module/knpu_leak_test.c" "$module_dir/"
make -C "$KNPU_KHEADERS" M="$module_dir" W=1 modules >"$module_dir/build.log" 2>&1 ||
	{ cat "$module_dir/build.log"; knpu_die "the leak module did not build"; }

log=$KNPU_BUILD/guest/$name.log
rc=0
"$KNPU_HARNESS/guest-run.sh" --quiet --name "$name" --devices 0 --no-module --timeout 300 \
	-- /usr/sbin/insmod "$module_dir/knpu_leak_test.ko" >"$log" 2>&1 || rc=$?
report=$KNPU_BUILD/guest/$name/kmemleak.txt
fail() {
	echo "not ok $name: $*"
	sed 's/^/    /' "$log"
	exit 1
}
[ "$rc" = 3 ] || fail "guest-run.sh exited $rc, expected 3"
grep -qE 'kmemleak reports [0-9]+ leaked object' "$log" || fail "the output does not name the leak"
for want in '(size 2048)' 'comm "insmod"' 'do_init_module'; do
	grep -qF "$want" "$report" || fail "$report lacks '$want'"
done
echo "ok $name (exit 3, kmemleak reports the module's 2048-byte object)"
