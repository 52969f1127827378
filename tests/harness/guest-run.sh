#!/usr/bin/env bash
# Boot the guest (Debian 6.12 kernel, our QEMU with N virtual NPUs, TCG), load
# the DRM stack and knpu.ko, run one command inside it under the host's root
# file system (read-only 9p, so host-built programs find their libraries), and
# report: the program's output, its exit status, test failures from any
# GoogleTest XML / KTAP it wrote, and kernel splats from the guest's log.
#
# Usage:
#   guest-run.sh [options] -- CMD [ARGS...]   run CMD in the guest (cwd = host cwd;
#                                             @RESULTS@ in ARGS = the results directory)
#   guest-run.sh [options] --sh 'LINE'        run a whole shell command line in the guest
#                                             with bash -c ('a; b | c' all runs there)
#   guest-run.sh [options] --shell            interactive busybox shell in the guest
#
# Options (environment defaults in brackets):
#   --devices N          number of `-device knpu` [KNPU_DEVICES, 1]
#   --device-opts OPTS   appended to each -device knpu,OPTS [KNPU_DEVICE_OPTS]
#   --qemu-args 'ARGS'   extra QEMU arguments, word-split [KNPU_QEMU_ARGS]
#   --name NAME          results directory $BUILD/guest/NAME [basename of CMD]
#   --timeout SEC        host-side limit for the whole run [KNPU_GUEST_TIMEOUT, 600]
#   --env NAME=VALUE     set in the program's environment (GTEST_*, NPU_* and
#                        LIBNPU_* variables of the caller are passed on anyway)
#   --no-module          do not load knpu.ko [KNPU_LOAD_MODULE=0]
#   --load-module        load it (the default; overrides an earlier --no-module)
#   --module-optional    a knpu.ko that is missing or fails to load is not an error
#   --module-params 'P'  insmod parameters for knpu.ko [KNPU_MODULE_PARAMS]
#   --allow-splat REGEX  kernel log lines matching REGEX are not splats [KNPU_SPLAT_IGNORE]
#   --quiet              do not stream the guest console; print the output at the end
#   --shell              interactive shell instead of a command (no timeout)
#
# Inside the guest the program sees: the host's files read-only, a writable
# results directory at the same absolute path as on the host ($KNPU_RESULTS),
# tmpfs /tmp and /run, /dev with /dev/accel/accel*, sysfs and debugfs, and
# $KNPU_CACHE naming the host's build cache (read-only there too).
#
# Files left in $BUILD/guest/NAME: serial.log (full console), dmesg.txt,
# output.log (the program's output), whatever the program wrote there,
# .knpu/ (config, exit status, timings) and, when the program failed,
# modules.txt and module-symbols.txt (the modules' addresses this boot).
#
# The guest kernel is Debian's 6.12, or with KNPU_GUEST_KERNEL=debug the debug
# kernel (`make debug-kernel debug-module`: KASAN, lockdep, kmemleak, debug
# objects, DMA-API debugging) with the knpu.ko built against it; results then
# go to $BUILD/guest/debug-NAME, and a leak kmemleak reports after the run
# fails it like a splat.
#
# Exit status: the program's; 124 host timeout; 125 the guest did not finish
# (panic, harness error); 3 the program passed but the kernel log has a splat,
# kmemleak reports a leak, or a test report lists a failure; 4 knpu.ko did
# not load.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

devices=${KNPU_DEVICES:-1}
device_opts=${KNPU_DEVICE_OPTS:-}
read -r -a qemu_args <<<"${KNPU_QEMU_ARGS:-}"
name=""
timeout_s=${KNPU_GUEST_TIMEOUT:-600}
envs=()
load_module=${KNPU_LOAD_MODULE:-1}
module_optional=0
module_params=${KNPU_MODULE_PARAMS:-}
splat_ignore=${KNPU_SPLAT_IGNORE:-}
quiet=0
mode=run
shell_line=""

usage() { sed -n '2,/^# shellcheck/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
	case $1 in
	--devices) devices=$2; shift 2 ;;
	--device-opts) device_opts=$2; shift 2 ;;
	--qemu-args) read -r -a more <<<"$2"; qemu_args+=("${more[@]}"); shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--no-module) load_module=0; shift ;;
	--load-module) load_module=1; shift ;;
	--module-optional) module_optional=1; shift ;;
	--module-params) module_params=$2; shift 2 ;;
	--allow-splat) splat_ignore=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--shell) mode=shell; shift ;;
	--sh) shell_line=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
if [ -n "$shell_line" ]; then
	[ $# -eq 0 ] || knpu_die "--sh takes the whole command line; nothing may follow it"
	set -- /bin/bash -c "$shell_line"
fi
if [ $mode = run ] && [ $# -eq 0 ]; then
	echo "guest-run.sh: no command given" >&2
	usage 2 >&2
fi
[[ $devices =~ ^[0-9]+$ ]] || knpu_die "--devices wants a number, got '$devices'"

knpu_load_kernel_env
qemu=${KNPU_QEMU:-$KNPU_QEMU_BIN}
[ -x "$qemu" ] || knpu_die "QEMU '$qemu' not built: run 'make qemu' (or set KNPU_QEMU)"
if [ $load_module = 1 ] && [ ! -f "$KNPU_MODULE" ] && [ $module_optional = 0 ]; then
	knpu_die "$KNPU_MODULE missing: run 'make module' (or pass --no-module / --module-optional)"
fi

initrd=$(bash "$KNPU_HARNESS/build-initramfs.sh")

# Results directory, visible in the guest at the same path.
if [ -z "$name" ]; then
	if [ $mode = shell ]; then
		name=shell
	elif [ -n "$shell_line" ]; then
		read -r first _ <<<"$shell_line"
		name=$(basename "${first:-sh}")
	else
		name=$(basename "$1")
	fi
fi
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || knpu_die "--name '$name': use letters, digits, . _ + -"
# Runs on the debug kernel keep their results apart from the Debian kernel's.
if [ "$KNPU_GUEST_KERNEL" = debug ] && [[ $name != debug-* ]]; then
	name=debug-$name
fi
run_dir=$KNPU_BUILD/guest/$name
rm -rf "$run_dir"
mkdir -p "$run_dir/.knpu"
run_dir=$(realpath "$run_dir")

# @RESULTS@ in the command's arguments stands for the results directory, e.g.
# --gtest_output=xml:@RESULTS@/gtest.xml
args_=()
for a in "$@"; do args_+=("${a//@RESULTS@/$run_dir}"); done
set -- "${args_[@]}"

shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "KNPU_MODE=$mode"
	echo "KNPU_RUN_DIR=$(shq "$run_dir")"
	echo "KNPU_CWD=$(shq "$PWD")"
	echo "KNPU_MODULE=$(shq "$(realpath -m "$KNPU_MODULE")")"
	echo "KNPU_MODULE_PARAMS=$(shq "$module_params")"
	echo "KNPU_LOAD_MODULE=$load_module"
	echo "KNPU_DEVICES=$devices"
	echo "KNPU_CMD_TEXT=$(shq "$*")"
	# Top directories under /tmp to keep visible over the guest's own /tmp
	# (the cache among them: tests read fetched files from it).
	read -r -a line_words <<<"$shell_line"
	keep=$(printf '%s\n' "$run_dir" "$PWD" "$KNPU_ROOT" "$KNPU_BUILD" "$KNPU_CACHE" "$(realpath -m "$KNPU_MODULE")" "$@" "${line_words[@]}" |
		grep -oE '(^|[=:,])/tmp/[^/:=,]+' | sed 's|.*/tmp/||' | sort -u |
		while read -r top; do
			# Only what exists: a path the command will create lives in the guest's /tmp.
			if [ -d "/tmp/$top" ]; then printf '%s ' "$top"; fi
		done || true)
	echo "KNPU_TMP_KEEP=$(shq "$keep")"
	echo "KNPU_GUEST_DEADLINE=$((timeout_s > 60 ? timeout_s - 20 : timeout_s / 2))"
} >"$run_dir/.knpu/config"
{
	echo "# generated by tests/harness/guest-run.sh; run by the guest's /init in the host root"
	while IFS='=' read -r k v; do
		[ -n "$k" ] && printf 'export %s=%q\n' "$k" "$v"
	done < <(env | grep -E '^(GTEST_[A-Z_]*|NPU_[A-Z_]*|LIBNPU_[A-Z_]*)=' || true)
	printf 'export KNPU_QMP=%q\n' "$KNPU_HARNESS/guest/knpu-qmp"
	printf 'export KNPU_CACHE=%q\n' "$KNPU_CACHE"
	for e in "${envs[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$run_dir/.knpu/cmd.sh"

# TCG vCPUs on a busy 2-core host can be descheduled for seconds: the soft
# lockup and RCU stall detectors get more slack (60 s) so a loaded CI machine
# does not report a splat, while a real hang is still caught.
cmdline="console=ttyS0,115200 rdinit=/init panic=-1 quiet loglevel=4 mitigations=off"
cmdline+=" watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=60"
# The same descheduling can make the kernel's early IO-APIC timer check miss
# its ticks and panic ("IO-APIC + timer doesn't work"), seen on a loaded
# fresh-machine run; the check proves nothing on an emulated board.
cmdline+=" no_timer_check"
cmdline+=" ${KNPU_KERNEL_CMDLINE:-}"
args=(
	-machine "${KNPU_MACHINE:-q35},dump-guest-core=off" -accel tcg -cpu "${KNPU_CPU:-max}"
	-m "${KNPU_GUEST_MEM:-2G}" -smp "${KNPU_GUEST_SMP:-2}"
	-display none -vga none -nic none -no-reboot
	-kernel "$KNPU_VMLINUZ" -initrd "$initrd" -append "$cmdline"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
	-fsdev "local,id=results,path=$run_dir,security_model=none,multidevs=remap"
	-device "virtio-9p-pci,fsdev=results,mount_tag=results"
)
# Each NPU sits in its own PCIe root port (a card in a slot; hot-unplug works),
# with the QOM id knpuN (for QMP: qom-set knpuN inject-..., see knpu-qmp).
# Each card gets its own serial number (0x4b4e5055000000<N+1>) unless the
# options set one.
for ((i = 0; i < devices; i++)); do
	opts=$device_opts
	case ",$opts," in *,serial=*) ;; *) opts="serial=$((0x4b4e505500000001 + i))${opts:+,$opts}" ;; esac
	if [ "${KNPU_TOPOLOGY:-rootport}" = rootport ]; then
		args+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),slot=$((i + 1))")
		args+=(-device "knpu,id=knpu$i,bus=rp$i,$opts")
	else
		args+=(-device "knpu,id=knpu$i,$opts")
	fi
done
# QMP for the host (and, through qmp-agent.py, for the guest's knpu-qmp).
qmp_sock=$run_dir/.knpu/qmp.sock
if [ ${#qmp_sock} -gt 100 ]; then
	qmp_sock=$(mktemp -u /tmp/knpu-qmp.XXXXXX.sock)
fi
mkdir -p "$run_dir/.knpu/qmp"
args+=(-qmp "unix:$qmp_sock,server=on,wait=off")
args+=("${qemu_args[@]}")
printf '%q ' "$qemu" "${args[@]}" >"$run_dir/.knpu/qemu-cmdline"
echo >>"$run_dir/.knpu/qemu-cmdline"

# The agent ends by itself when QEMU closes the socket; stop_agent makes sure.
[ -x /usr/bin/python3 ] || knpu_apt_install python3
start_agent() {
	/usr/bin/python3 "$KNPU_HARNESS/qmp-agent.py" "$qmp_sock" "$run_dir/.knpu/qmp" </dev/null >/dev/null 2>&1 &
	agent=$!
}
stop_agent() {
	kill "$agent" 2>/dev/null || true
	wait "$agent" 2>/dev/null || true
	[ "$qmp_sock" = "$run_dir/.knpu/qmp.sock" ] || rm -f "$qmp_sock"
}

if [ $mode = shell ]; then
	start_agent
	knpu_log "booting the guest shell ($devices device(s)); Ctrl-A X quits QEMU; logs in $run_dir"
	rc=0
	# Console and monitor multiplexed on the terminal (Ctrl-A C switches,
	# Ctrl-A X quits); Ctrl-C goes to the guest; the session is logged.
	"$qemu" "${args[@]}" -chardev "stdio,id=con,mux=on,signal=off,logfile=$run_dir/serial.log" \
		-serial chardev:con -mon chardev=con,mode=readline || rc=$?
	stop_agent
	exit $rc
fi

# One boot of the guest: QEMU's exit status in rc_qemu. QEMU may dump core
# (its crash is a defect of ours or of QEMU, never the test's): into the
# current directory with the kernel's default core_pattern, without guest
# RAM (dump-guest-core=off above) so the file stays small.
boot_guest() {
	rc_qemu=0
	start_agent
	touch "$run_dir/.knpu/boot-started"
	if [ $quiet = 1 ]; then
		(ulimit -c unlimited 2>/dev/null
			exec timeout -k 10 "$timeout_s" "$qemu" "${args[@]}" -monitor none \
				-chardev "file,id=con,path=$run_dir/serial.log" -serial chardev:con \
				</dev/null >"$run_dir/qemu-stdout.log" 2>&1) || rc_qemu=$?
	else
		(ulimit -c unlimited 2>/dev/null
			exec timeout -k 10 "$timeout_s" "$qemu" "${args[@]}" -monitor none \
				-chardev "stdio,id=con,signal=off,logfile=$run_dir/serial.log" -serial chardev:con \
				</dev/null) || rc_qemu=$?
	fi
	stop_agent
}

# The signal QEMU died of (timeout passes it on as 128 + N), or nothing.
qemu_crash_signal() {
	case $rc_qemu in
	132 | 133 | 134 | 135 | 136 | 139) kill -l $((rc_qemu - 128)) ;;
	esac
}

# Move this boot's QEMU core to $run_dir/qemu.core and write every thread's
# backtrace to $run_dir/qemu-backtrace.txt; false when there is no core.
qemu_collect_core() {
	local core exe
	[ ! -f "$run_dir/qemu.core" ] || return 0
	core=$(find "$PWD" -maxdepth 1 -type f \( -name core -o -name 'core.[0-9]*' \) \
		-newer "$run_dir/.knpu/boot-started" 2>/dev/null | head -n1)
	[ -n "$core" ] || return 1
	mv -f "$core" "$run_dir/qemu.core"
	knpu_apt_install gdb >&2
	# $qemu may be a wrapper script; the core names the binary that ran.
	exe=$(gdb -batch -nx -c "$run_dir/qemu.core" -ex 'info auxv' 2>/dev/null |
		sed -n 's/.*AT_EXECFN .* "\(.*\)"$/\1/p' | head -n1)
	gdb -batch -nx -ex 'echo == the crashing thread\n' -ex bt \
		-ex 'echo == every thread\n' -ex 'info threads' -ex 'thread apply all bt' \
		"$exe" "$run_dir/qemu.core" >"$run_dir/qemu-backtrace.txt" 2>&1 || true
}

# The verdict's line for a QEMU that died of signal $1.
qemu_crash_report() {
	if qemu_collect_core; then
		echo "QEMU crashed with SIG$1: the crashing thread's backtrace is below; every thread's in $run_dir/qemu-backtrace.txt, the core in $run_dir/qemu.core"
	else
		echo "QEMU died of SIG$1 and left no core in $PWD (core_pattern '$(cat /proc/sys/kernel/core_pattern)', ulimit -c $(ulimit -H -c))"
	fi
}

# True when the guest kernel crashed before /init started: nothing of knpu or
# of the test had run (knpu.ko and the DRM modules load from /init). Seen on
# TCG as an int3 oops in a static key patched during boot (docs/testing.md).
crashed_before_init() {
	[ ! -f "$run_dir/.knpu/exit-status" ] || return 1
	grep -qE "$KNPU_SPLAT_RE" "$run_dir/serial.log" 2>/dev/null || return 1
	! grep -q "$KNPU_INIT_MARKER" "$run_dir/serial.log"
}

# The crashing thread's frames in $run_dir/qemu-backtrace.txt.
crashing_thread() {
	sed -n '/^== the crashing thread/,/^== every thread/p' "$run_dir/qemu-backtrace.txt" 2>/dev/null | sed '1d;$d'
}

# True when QEMU crashed while the guest kernel booted, before /init, in
# code that is not the device model's (no knpu frame in the crashing
# thread): nothing but PCI configuration cycles had reached the device.
# Seen once in CI (stop 24) 5.8 s into a debug-kernel boot, before PCI
# enumeration: TCG running the kernel's early boot (docs/testing.md).
qemu_crashed_before_init() {
	[ -n "$(qemu_crash_signal)" ] || return 1
	! grep -q "$KNPU_INIT_MARKER" "$run_dir/serial.log" 2>/dev/null || return 1
	qemu_collect_core || return 1
	crashing_thread | grep -q '^#' || return 1
	! crashing_thread | grep -q knpu
}

knpu_log "guest-run: $* ($devices device(s), timeout ${timeout_s}s, results in $run_dir)"
t0=$(date +%s.%N)
boot_guest
# An infrastructure failure, as kernel CI labs treat it: boot once more and
# say so; a second crash fails the run with its log.
if crashed_before_init; then
	mv "$run_dir/serial.log" "$run_dir/serial.boot-crash.log"
	knpu_log "guest-run: the guest kernel crashed while booting, before /init (not the test: $(grep -m1 -E "$KNPU_SPLAT_RE" "$run_dir/serial.boot-crash.log" | tr -d '\r')); booting once more (log: $run_dir/serial.boot-crash.log)"
	boot_guest
elif qemu_crashed_before_init; then
	for f in serial.log qemu-backtrace.txt qemu.core; do
		mv "$run_dir/$f" "$run_dir/boot-crash.$f"
	done
	knpu_log "guest-run: QEMU crashed with SIG$(qemu_crash_signal) while the guest kernel booted, before /init, outside the device model (not the test; the crashing thread: $(grep -m1 '^#0' "$run_dir/boot-crash.qemu-backtrace.txt" | cut -c1-160)); booting once more (every thread: $run_dir/boot-crash.qemu-backtrace.txt)"
	boot_guest
fi
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# --- verdict -----------------------------------------------------------------
fail=()
rc=0
status=$(cat "$run_dir/.knpu/exit-status" 2>/dev/null || true)
if [ -f "$run_dir/.knpu/guest-timeout" ]; then
	fail+=("the program did not finish within $(cat "$run_dir/.knpu/guest-timeout")s (guest watchdog: the run's limit less the boot and the report's time; blocked tasks in the kernel log)")
	rc=124
elif [ $rc_qemu = 124 ] || [ $rc_qemu = 137 ]; then
	fail+=("host timeout after ${timeout_s}s: the guest did not finish")
	rc=124
elif [ -n "$(qemu_crash_signal)" ]; then
	fail+=("$(qemu_crash_report "$(qemu_crash_signal)")")
	rc=125
elif [ -z "$status" ]; then
	fail+=("the guest did not finish the command (QEMU exit $rc_qemu): panic or harness error")
	rc=125
elif [ "$status" != 0 ]; then
	fail+=("the program exited with status $status")
	rc=$status
fi
if [ -s "$run_dir/.knpu/harness-errors" ]; then
	fail+=("$(cat "$run_dir/.knpu/harness-errors")")
	[ $rc = 0 ] && rc=125
fi

if [ $load_module = 1 ]; then
	mstat=$(sed -n 's/^module=//p' "$run_dir/.knpu/module-status" 2>/dev/null || true)
	if [ "$mstat" != loaded ] && [ $module_optional = 0 ] && [ -n "$mstat" ]; then
		fail+=("knpu.ko did not load ($mstat)")
		[ $rc = 0 ] && rc=4
	fi
fi

# Kernel log: dmesg from the guest, or the console log when the guest died.
klog=$run_dir/dmesg.txt
[ -s "$klog" ] || klog=$run_dir/serial.log
splats=$run_dir/splats.txt
grep -nE "$KNPU_SPLAT_RE" "$klog" 2>/dev/null | { if [ -n "$splat_ignore" ]; then grep -vE "$splat_ignore"; else cat; fi; } >"$splats" || true
if [ -s "$splats" ]; then
	fail+=("the guest kernel log has $(wc -l <"$splats") splat line(s), first: $(head -n1 "$splats" | cut -d: -f2-)")
	[ $rc = 0 ] && rc=3
fi

# kmemleak's report after the run (debug kernel, tests/harness/init).
leaks=$run_dir/kmemleak.txt
if [ -s "$leaks" ]; then
	fail+=("kmemleak reports $(grep -c '^unreferenced object' "$leaks") leaked object(s) after the run, first: $(head -n1 "$leaks") (all in $leaks)")
	[ $rc = 0 ] && rc=3
fi

# Test reports the program left in the results directory.
report_rc=0
knpu_python "$KNPU_HARNESS/report.py" "$run_dir" >"$run_dir/report.txt" || report_rc=$?
if [ $report_rc != 0 ]; then
	fail+=("test reports list failures (FAILED TEST lines above)")
	[ $rc = 0 ] && rc=3
fi

[ $quiet = 1 ] && [ -f "$run_dir/output.log" ] && cat "$run_dir/output.log"
boot=$(cat "$run_dir/.knpu/boot-seconds" 2>/dev/null || echo '?')
prog=$(cat "$run_dir/.knpu/run-seconds" 2>/dev/null || echo '?')
[ -s "$run_dir/report.txt" ] && sed 's/^/[knpu] /' "$run_dir/report.txt" >&2
if [ ${#fail[@]} -eq 0 ]; then
	knpu_log "guest-run: PASS '$*' (boot ${boot}s, program ${prog}s, total ${wall}s)"
	exit 0
fi

{
	echo "================ guest-run FAILED: $* ================"
	for f in "${fail[@]}"; do echo "  - $f"; done
	if [ -s "$leaks" ]; then
		echo "---------------- kmemleak (first records of $leaks) ----------------"
		head -n 40 "$leaks"
	fi
	if [ -s "$run_dir/qemu-backtrace.txt" ]; then
		echo "---------------- QEMU: the crashing thread ($run_dir/qemu-backtrace.txt) ----------------"
		crashing_thread | head -n 40
	fi
	if [ -s "$splats" ]; then
		first=$(head -n1 "$splats" | cut -d: -f1)
		echo "---------------- kernel log around the first splat ($klog:$first) ----------------"
		sed -n "$((first > 20 ? first - 20 : 1)),$((first + 80))p" "$klog"
	fi
	# The kernel log since userspace started (module loads, the driver, the
	# program), at most its last 60 lines; boot messages are in the file.
	start=$(grep -n 'Run /init as init process' "$klog" 2>/dev/null | head -n1 | cut -d: -f1 || true)
	echo "---------------- guest kernel log since /init (last 60 lines; all of it in $klog) ----------------"
	tail -n +"${start:-1}" "$klog" 2>/dev/null | tail -n 60
	# The console was streamed already unless --quiet or the guest died.
	if [ "$klog" != "$run_dir/serial.log" ] && { [ $quiet = 1 ] || [ $rc -ge 124 ]; }; then
		echo "---------------- guest console (last 30 lines of serial.log) ----------------"
		tail -n 30 "$run_dir/serial.log" 2>/dev/null
	fi
	echo "---------------- full logs: $run_dir/{serial.log,dmesg.txt,output.log} ----------------"
	echo "timings: boot ${boot}s, program ${prog}s, total ${wall}s"
} >&2
exit "$rc"
