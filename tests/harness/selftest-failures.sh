#!/usr/bin/env bash
# CTest `guest-harness-failures`: proves the harness can fail. Boots the guest
# once per case, without the driver, and checks that
#  1. a program that reports a failed test (KTAP) and exits 1 makes guest-run.sh
#     exit 1 and name the failed test;
#  2. a program that passes while the kernel prints a backtrace (sysrq 'l',
#     "Call Trace:") makes guest-run.sh exit 3 and show the kernel log;
#  3. a program that hangs is stopped by the guest's watchdog: exit 124;
#  4. a knpu.ko that does not load fails a passing program: exit 4;
#  5. a kernel that crashes while booting, before /init, is booted once more
#     (an infrastructure failure, said so in the output), and a second crash
#     fails the run: exit 125;
#  6. a QEMU that crashes (SIGSEGV) fails the run, exit 125, with the
#     crashing thread's backtrace from its core;
#  7. a QEMU that crashes while the kernel boots, before /init, outside the
#     device model, is booted once more, and a second crash fails the run:
#     exit 125.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fails=0

expect harness-failing-test 1 'FAILED TEST: harness_negative\.expected_failure' -- \
	bash -c 'printf "KTAP version 1\n1..2\n    # Subtest: harness_negative\n    1..2\n    ok 1 passes\n    not ok 2 expected_failure\nnot ok 1 harness_negative\n" >"$KNPU_RESULTS/neg.ktap"; exit 1'
expect harness-kernel-splat 3 'splat line.*Call Trace|Call Trace' -- \
	bash -c 'echo l >/proc/sysrq-trigger; sleep 1; exit 0'

# 3. a hung program is stopped by the guest watchdog and reported as a timeout;
expect harness-hang 124 'did not finish within' --timeout 40 -- sleep 1000
# 4. a knpu.ko that does not load fails the run even if the program passes.
bogus=$KNPU_BUILD/guest/bogus-knpu.ko
echo "not a module" >"$bogus"
KNPU_MODULE=$bogus expect harness-module-fails 4 'knpu.ko did not load \(failed\)' --load-module -- true

# 5. no init in the initramfs: the kernel panics before /init, both times.
KNPU_KERNEL_CMDLINE=rdinit=/knpu-no-such-init expect harness-boot-crash 125 \
	'crashed while booting, before /init.*booting once more' -- true

# 6. QEMU killed with SIGSEGV once the guest program runs (a wrapper in front
# of the real QEMU waits for the program's flag file).
flag=$KNPU_BUILD/guest/harness-qemu-crash/program-started
crashing_qemu=$KNPU_BUILD/guest/qemu-that-crashes.sh
cat >"$crashing_qemu" <<EOF
#!/bin/sh
"$KNPU_QEMU_BIN" "\$@" &
pid=\$!
while [ ! -e "$flag" ] && kill -0 \$pid 2>/dev/null; do sleep 0.2; done
kill -SEGV \$pid
wait \$pid
EOF
chmod +x "$crashing_qemu"
KNPU_QEMU=$crashing_qemu expect harness-qemu-crash 125 'QEMU crashed with SIGSEGV' \
	-- bash -c 'touch "$KNPU_RESULTS/program-started"; sleep 120'
# gdb prints frame 0 as '#0  0xADDR in f (...)', or '#0  f (...) at file' when
# the thread stopped at a line's start: either is a backtrace.
if ! grep -qE '^#0  ([^ ]+ in )?[A-Za-z_][A-Za-z0-9_.]* \(' "$KNPU_BUILD/guest/harness-qemu-crash.log"; then
	echo "not ok harness-qemu-crash: no backtrace of the crashing thread"
	fails=$((fails + 1))
fi

# 7. QEMU killed with SIGSEGV 2.5 s after it starts, in both boots: the main
# thread (the signal's target) is in its loop, the kernel early in boot.
crashing_boot=$KNPU_BUILD/guest/qemu-that-crashes-at-boot.sh
cat >"$crashing_boot" <<EOF
#!/bin/sh
"$KNPU_QEMU_BIN" "\$@" &
pid=\$!
sleep 2.5
kill -SEGV \$pid
wait \$pid
EOF
chmod +x "$crashing_boot"
KNPU_QEMU=$crashing_boot expect harness-qemu-boot-crash 125 \
	'QEMU crashed with SIGSEGV while the guest kernel booted, before /init.*booting once more' -- true

echo "harness failure paths: $((7 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
