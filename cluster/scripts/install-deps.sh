#!/usr/bin/env bash
# Installs, by Debian package name, what the cluster integration needs:
# gRPC and protobuf for npu-device-plugin (kubelet device-plugin API),
# nlohmann-json for CDI specs, and python3-jsonschema for the test that
# validates generated CDI specs against the specification's schema; and for
# the installed system (packaging/): help2man for the tools' man pages.
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

knpu_apt_install \
	libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
	nlohmann-json3-dev python3-jsonschema help2man
