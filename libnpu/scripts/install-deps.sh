#!/usr/bin/env bash
# Installs, by Debian package name, what libnpu, the tools and the userspace
# tests need to build and to run their tests.
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

knpu_apt_install \
	cmake ninja-build g++ pkg-config \
	libdrm-dev libudev-dev zlib1g-dev libfmt-dev \
	libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libdnnl-dev libcpp-httplib-dev \
	libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx python3-numpy python3-pil python3-scipy fonts-dejavu-core \
	prometheus lm-sensors trace-cmd \
	clang-format clang libclang-rt-dev clang-16 libclang-rt-16-dev
