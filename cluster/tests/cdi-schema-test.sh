#!/usr/bin/env bash
# Validates a CDI spec against the CDI specification's JSON schema (from
# Debian's package) with python3-jsonschema.
#   cdi-schema-test.sh GENERATOR [ARGS...]   GENERATOR prints the spec
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

schema=$("$KNPU_ROOT/cluster/scripts/cdi-schema.sh")
spec=$(mktemp --suffix=.json)
trap 'rm -f "$spec"' EXIT
"$@" >"$spec"
/usr/bin/python3 "$KNPU_ROOT/cluster/tests/validate_cdi_spec.py" "$schema" "$spec"
