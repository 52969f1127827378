#!/bin/bash
# In the guest, two NPUs: knpu-fault-matrix once per fault (and the two fence
# lifetime cases), in an order that leaves the device that falls off the bus
# (accel1) for last. Writes one KTAP
# result per fault to $KNPU_RESULTS/fault-matrix.ktap; exits 1 when one failed.
bin=${1:?usage: fault-matrix-guest.sh KNPU_FAULT_MATRIX KNPU_KO MODULE_PARAMS}
export KNPU_KO=${2:?usage: fault-matrix-guest.sh KNPU_FAULT_MATRIX KNPU_KO MODULE_PARAMS}
export KNPU_MODULE_PARAMS=${3:-}
faults=(hang mmu uncorrectable flr aer-fatal aer-nonfatal overheat reload fences-rmmod fences-unbind surprise)
ktap=${KNPU_RESULTS:-/tmp}/fault-matrix.ktap
{
	echo "KTAP version 1"
	echo "1..${#faults[@]}"
} >"$ktap"
failed=0
n=0
for fault in "${faults[@]}"; do
	n=$((n + 1))
	echo "# ---- $fault"
	started=$SECONDS
	if "$bin" "$fault" /dev/accel/accel0 knpu0 /dev/accel/accel1 knpu1; then
		echo "ok $n $fault" >>"$ktap"
	else
		echo "not ok $n $fault" >>"$ktap"
		failed=1
	fi
	# Where the suite's time goes (a test's share of make test's budget).
	echo "# $fault took $((SECONDS - started)) s"
done
cat "$ktap"
exit $failed
