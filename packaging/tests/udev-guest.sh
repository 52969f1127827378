#!/usr/bin/env bash
# In the guest (root, two NPUs): a running systemd-udevd with 70-knpu.rules
# gives the knpu accel nodes group render and mode 0660; then a non-root user
# in group render runs a job and passes `npu-smi doctor`, and one outside it
# gets libnpu's permission error and doctor's. KTAP on stdout.
#   udev-guest.sh RULES_FILE NPU_RUN NPU_SMI
set -uo pipefail
usage="usage: udev-guest.sh RULES_FILE NPU_RUN NPU_SMI"
rules=${1:?$usage}
npu_run=${2:?$usage}
npu_smi=${3:?$usage}
nobody=65534
render_gid=$(getent group render | cut -d: -f3)
failed=0
n=0
check() { # check NAME CONDITION...
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n $name"; else echo "not ok $n $name"; failed=$((failed + 1)); fi
}

echo "KTAP version 1"
echo "1..9"
# The guest's /run is its own: udev reads rules from /run/udev/rules.d too,
# beside the host's /lib/udev/rules.d (which does not know accel nodes).
mkdir -p /run/udev/rules.d
cp "$rules" /run/udev/rules.d/
# Programs run chrooted into the host's root: udevadm would ignore requests.
export SYSTEMD_IGNORE_CHROOT=1
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --subsystem-match=accel
udevadm settle --timeout=60
modes=$(stat -c '%n %G %a' /dev/accel/accel*)
echo "$modes" | sed 's/^/# /'
check "udev gives every knpu node group render, mode 0660" \
	test "$(echo "$modes" | grep -cv ' render 660$')" -eq 0
check "both NPUs' nodes are there" test "$(echo "$modes" | wc -l)" -eq 2

member=$(setpriv --reuid=$nobody --regid=$nobody --groups="$render_gid" -- "$npu_run" validate --samples 2 2>&1)
status=$?
echo "$member" | sed 's/^/# render member: /'
check "a non-root user in group render runs a job" test "$status" -eq 0

outsider=$(setpriv --reuid=$nobody --regid=$nobody --clear-groups -- "$npu_run" validate --samples 2 2>&1)
status=$?
echo "$outsider" | sed 's/^/# outsider: /'
check "a user outside group render is refused" test "$status" -ne 0
check "and is told why (permission denied on the node)" \
	grep -q "/dev/accel/accel.*Permission denied" <<<"$outsider"

# npu-smi doctor, with its health job on each NPU.
member=$(setpriv --reuid=$nobody --regid=$nobody --groups="$render_gid" -- "$npu_smi" doctor 2>&1)
status=$?
echo "$member" | sed 's/^/# doctor, render member: /'
check "npu-smi doctor passes for a user in group render (exit 0)" test "$status" -eq 0
outsider=$(setpriv --reuid=$nobody --regid=$nobody --clear-groups -- "$npu_smi" doctor 2>&1)
status=$?
echo "$outsider" | sed 's/^/# doctor, outsider: /'
check "npu-smi doctor refuses a user outside group render (exit 4, no permission)" test "$status" -eq 4
check "and names the node and the cause" \
	grep -q "FAIL.*permission.*/dev/accel/accel.*Permission denied" <<<"$outsider"
check "and the fix (group render)" grep -q "fix: add the user to group render" <<<"$outsider"

udevadm control --exit
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
