#!/usr/bin/env bash
# Guest side of `make run-demo`: the devices as the system sees them, then
# `npu-run validate` watched by npu-smi, then the text of an image read on
# the NPU. Arguments: the tools' paths (npu-run, npu-smi), and for the text
# reading npu-infer, npu-ocr.py, the models' directory, the directory with
# text.png and onnxruntime's reference.json, and the lines the image shows.
set -uo pipefail
npu_run=${1:-}
npu_smi=${2:-}
shift 2

hr() { printf '\n== %s\n' "$*"; }
hr "kernel"
echo "$(uname -sr) ($(nproc) vCPUs, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)), TCG"

hr "virtual NPUs on the PCI bus"
found=0
for d in /sys/bus/pci/devices/*; do
	[ "$(<"$d/class")" = 0x120000 ] || [ "$(<"$d/vendor"):$(<"$d/device")" = 0x1234:0x4b4e ] || continue
	found=$((found + 1))
	v=$(<"$d/vendor") dv=$(<"$d/device") rev=$(<"$d/revision")
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	read -r s e _ < <(sed -n 3p "$d/resource")
	bar2="$((((e - s) + 1) >> 20)) MiB"
	printf '%s Processing accelerators [1200]: KNPU NPU [%s:%s] (rev %s), device memory %s, driver: %s\n' \
		"${d##*/}" "${v#0x}" "${dv#0x}" "${rev#0x}" "${bar2:-?}" "${drv:-none}"
done
[ $found -gt 0 ] || echo "no KNPU device found (is QEMU started with -device knpu?)"

hr "accel nodes"
if ls /dev/accel/accel* >/dev/null 2>&1; then
	for n in /dev/accel/accel*; do
		echo "$(ls -l "$n" | awk '{ print $1, $5, $6, $NF }') -> $(basename "$(readlink -f "/sys/class/accel/${n##*/}/device")")"
	done
else
	echo "none: knpu.ko not loaded or not bound"
fi

hr "driver"
if [ -d /sys/module/knpu ]; then
	ver=$(cat /sys/module/knpu/version 2>/dev/null)
	[ -n "$ver" ] || ver=$(dmesg | sed -n 's/.*\[drm\] Initialized knpu \([^ ]*\) .*/\1/p' | head -n1)
	sv=$(cat /sys/module/knpu/srcversion 2>/dev/null)
	echo "knpu.ko loaded: driver version ${ver:-?}${sv:+, srcversion $sv}, taint $(cat /sys/module/knpu/taint 2>/dev/null) (out-of-tree, unsigned)"
	dmesg | grep -E 'knpu' | grep -vE 'taints kernel|module verification' | sed 's/^\[ *[0-9.]*\] /  /' | tail -n 8
else
	echo "knpu.ko is not loaded"
fi

hr "npu-smi"
if [ -n "$npu_smi" ] && [ -x "$npu_smi" ]; then
	"$npu_smi"
else
	echo "npu-smi not found at '${npu_smi}': build it with 'make userspace'"
fi

hr "npu-run validate"
if [ -n "$npu_run" ] && [ -x "$npu_run" ]; then
	"$npu_run" validate --samples 200 >/tmp/validate.log 2>&1 &
	validate=$!
	if [ -x "$npu_smi" ]; then
		echo "npu-smi while it runs:"
		"$npu_smi" --query=index,temperature_c,power_w,clock_mhz,utilization_percent,jobs_completed \
			-l 0.5 -c 4
	fi
	wait "$validate"
	rc=$?
	cat /tmp/validate.log
	echo
	echo "npu-run validate: exit status $rc"
	[ $rc -eq 0 ] || exit $rc
	hr "reading text on the NPU: PaddleOCR detection, direction, recognition"
	if [ $# -lt 5 ]; then
		echo "skipped (npu-infer not built or the models not fetched; see the host's warning)"
		exit 0
	fi
	npu_infer=$1 npu_ocr=$2 assets=$3 dir=$4
	shift 4
	NPU_INFER=$npu_infer /usr/bin/python3 "$npu_ocr" read "$dir/text.png" --models "$assets" \
		--repeat 1 --work /tmp/npu-ocr --reference "$dir/reference.json" --expect "$@"
	exit $?
fi
echo "npu-run not found at '${npu_run}': build it with 'make userspace'"
exit 1
