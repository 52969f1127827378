#!/usr/bin/env bash
# Runs inside the guest (started by tests/harness/selftest.sh through
# guest-run.sh): checks what the harness promises, then what the driver must
# provide. Writes KTAP to $KNPU_RESULTS/harness.ktap and to stdout; exits 1
# when a check fails.
#   env: KNPU_EXPECT_DEVICES (default 1), KNPU_EXPECT_DEVMEM (BAR2 bytes, default 256 MiB)
set -uo pipefail

expect=${KNPU_EXPECT_DEVICES:-1}
devmem=${KNPU_EXPECT_DEVMEM:-$((256 << 20))}
# PCI identity, docs/hw-spec.md section 1.
VENDOR=0x1234 DEVICE=0x4b4e CLASS=0x120000 REVISION=0x01 SUBVENDOR=0x1234 SUBDEVICE=0x0001

out=${KNPU_RESULTS:-/tmp}/harness.ktap
n=0 failed=0
lines=()
result() { # result OK|FAIL name [diagnostic...]
	local verdict=$1 name=$2
	shift 2
	n=$((n + 1))
	local d
	for d in "$@"; do lines+=("# ${d//$'\n'/ | }"); done
	if [ "$verdict" = OK ]; then
		lines+=("ok $n $name")
	else
		lines+=("not ok $n $name")
		failed=$((failed + 1))
	fi
	printf '%s\n' "${lines[@]: -$(($# + 1))}"
}
check() { # check name command...: OK when the command succeeds
	local name=$1 msg
	shift
	if msg=$("$@" 2>&1); then result OK "$name"; else result FAIL "$name" "${msg:-failed: $*}"; fi
}

echo "KTAP version 1"
echo "# knpu guest harness self-test ($expect device(s) expected)"

# --- the harness ---------------------------------------------------------------
t_in_guest() { grep -q "rdinit=/init" /proc/cmdline && [ "${KNPU_IN_GUEST:-}" = 1 ] || { echo "not in the knpu guest"; return 1; }; }
t_kernel() { case $(uname -r) in 6.12.*) ;; *) echo "uname -r: $(uname -r)"; return 1 ;; esac; }
t_results() { echo ok >"$KNPU_RESULTS/.probe" && [ "$(<"$KNPU_RESULTS/.probe")" = ok ] && rm "$KNPU_RESULTS/.probe"; }
t_host_ro() { if touch /usr/.knpu-probe 2>/dev/null; then rm -f /usr/.knpu-probe; echo "/usr is writable"; return 1; fi; }
t_libs() { [ -e /usr/lib/x86_64-linux-gnu/libstdc++.so.6 ] && /usr/bin/env true; }
t_tmp() { echo x >/tmp/.probe && rm /tmp/.probe; }
t_drm() {
	local m
	for m in drm drm_kms_helper drm_shmem_helper gpu_sched; do
		[ -d /sys/module/$m ] || { echo "module $m not loaded"; return 1; }
	done
}
check in_guest t_in_guest
check kernel_is_debian_6_12 t_kernel
check results_share_writable t_results
check host_root_read_only t_host_ro
check host_programs_run t_libs
check tmp_writable t_tmp
check drm_stack_loaded t_drm

t_qmp() {
	local r
	[ "$expect" -gt 0 ] || { "$KNPU_QMP" '{"execute": "query-status"}'; return; }
	r=$("$KNPU_QMP" qom-get knpu0 type) || { echo "$r"; return 1; }
	[ "$r" = '{"return": "knpu"}' ] || { echo "qom-get knpu0 type: $r"; return 1; }
}
check qmp_bridge t_qmp

# --- the virtual NPU on the PCI bus ------------------------------------------------
devs=()
for d in /sys/bus/pci/devices/*; do
	[ "$(<"$d/vendor")" = $VENDOR ] && [ "$(<"$d/device")" = $DEVICE ] && devs+=("$d")
done
if [ ${#devs[@]} -eq "$expect" ]; then
	result OK pci_devices_present "${#devs[@]} knpu device(s): ${devs[*]##*/}"
else
	result FAIL pci_devices_present "found ${#devs[@]} device(s) $VENDOR:$DEVICE, expected $expect" \
		"$(for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(<$d/vendor):$(<$d/device) class $(<$d/class)"; done | tr '\n' ';')"
fi

ident_ok=1 ident_msg=()
bars_ok=1 bars_msg=()
for d in "${devs[@]}"; do
	for f in class:$CLASS revision:$REVISION subsystem_vendor:$SUBVENDOR subsystem_device:$SUBDEVICE; do
		got=$(<"$d/${f%%:*}")
		[ "$got" = "${f#*:}" ] || { ident_ok=0; ident_msg+=("${d##*/} ${f%%:*} is $got, expected ${f#*:}"); }
	done
	# resource: one line per BAR: start end flags (IORESOURCE_MEM 0x200,
	# PREFETCH 0x2000, MEM_64 0x100000).
	mapfile -t res <"$d/resource"
	size() { local a=($1); printf '%d' $((${a[1]} - ${a[0]} + 1)); }
	flags() { local a=($1); printf '%d' $((${a[2]})); }
	[ "$(size "${res[0]}")" = $((64 << 10)) ] || { bars_ok=0; bars_msg+=("${d##*/} BAR0 size $(size "${res[0]}"), expected 65536"); }
	[ "$(size "${res[2]}")" = "$devmem" ] || { bars_ok=0; bars_msg+=("${d##*/} BAR2 size $(size "${res[2]}"), expected $devmem"); }
	f2=$(flags "${res[2]}")
	((f2 & 0x2000)) && ((f2 & 0x100000)) || { bars_ok=0; bars_msg+=("${d##*/} BAR2 flags $(printf 0x%x "$f2"): not 64-bit prefetchable"); }
	[ "$(size "${res[4]}")" = 4096 ] || { bars_ok=0; bars_msg+=("${d##*/} BAR4 size $(size "${res[4]}"), expected 4096"); }
done
[ ${#devs[@]} -gt 0 ] || { ident_ok=0 bars_ok=0; ident_msg=("no device"); bars_msg=("no device"); }
if [ $ident_ok = 1 ]; then result OK pci_identity; else result FAIL pci_identity "${ident_msg[@]}"; fi
if [ $bars_ok = 1 ]; then result OK pci_bars; else result FAIL pci_bars "${bars_msg[@]}"; fi

# --- the driver (needs knpu.ko to work) ------------------------------------------
t_module() { [ -d /sys/module/knpu ] || { cat "$KNPU_RESULTS/.knpu/module-status" 2>/dev/null; dmesg | grep -i knpu | tail -n 5; return 1; }; }
check knpu_module_loaded t_module
bound_msg=()
for d in "${devs[@]}"; do
	drv=$(readlink "$d/driver" 2>/dev/null)
	[ "${drv##*/}" = knpu ] || bound_msg+=("${d##*/} bound to '${drv##*/}'")
done
if [ ${#devs[@]} -gt 0 ] && [ ${#bound_msg[@]} -eq 0 ]; then result OK driver_bound; else result FAIL driver_bound "${bound_msg[@]:-no device}"; fi

nodes=(/dev/accel/accel*)
[ -e "${nodes[0]}" ] || nodes=()
node_msg=()
[ ${#nodes[@]} -eq "$expect" ] || node_msg+=("${#nodes[@]} node(s) in /dev/accel, expected $expect")
for nd in "${nodes[@]}"; do
	[ -c "$nd" ] || { node_msg+=("$nd is not a character device"); continue; }
	major=$(stat -c %t "$nd")
	[ $((16#$major)) = 261 ] || node_msg+=("$nd has major $((16#$major)), expected 261 (accel)")
	pci=$(readlink -f "/sys/class/accel/${nd##*/}/device")
	[ "$(<"$pci/vendor")" = $VENDOR ] 2>/dev/null || node_msg+=("/sys/class/accel/${nd##*/}/device is not a knpu device")
done
if [ ${#node_msg[@]} -eq 0 ]; then result OK accel_nodes "$(ls -l /dev/accel 2>/dev/null | tail -n +2 | tr -s ' ' | tr '\n' ';')"; else result FAIL accel_nodes "${node_msg[@]}"; fi

msix_msg=()
for d in "${devs[@]}"; do
	[ -n "$(ls "$d/msi_irqs" 2>/dev/null)" ] || msix_msg+=("${d##*/} has no MSI-X vectors enabled")
done
if [ ${#devs[@]} -gt 0 ] && [ ${#msix_msg[@]} -eq 0 ]; then result OK msix_enabled; else result FAIL msix_enabled "${msix_msg[@]:-no device}"; fi

echo "1..$n"
{
	echo "KTAP version 1"
	echo "1..$n"
	printf '%s\n' "${lines[@]}"
} >"$out"
echo "# harness self-test: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
