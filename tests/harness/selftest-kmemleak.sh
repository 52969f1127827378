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

fails=0
expect "$name" 3 'kmemleak reports [0-9]+ leaked object' -- /usr/sbin/insmod "$module_dir/knpu_leak_test.ko"
[ "$fails" = 0 ] || exit 1
report=$KNPU_BUILD/guest/$name/kmemleak.txt
for want in '(size 2048)' 'comm "insmod"' 'do_init_module'; do
	grep -qF "$want" "$report" || { echo "not ok $name: $report lacks '$want'"; cat "$report"; exit 1; }
done
echo "ok $name: kmemleak's report holds the module's 2048-byte object"
