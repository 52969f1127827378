#!/usr/bin/python3
"""Validates a CDI spec (JSON) against the CDI specification's JSON schema and
the naming rules of the specification that the schema does not encode.

    validate_cdi_spec.py SCHEMA_DIR SPEC.json

Also checks that the schema rejects a spec broken on purpose, so that a
validator that accepts everything fails this test. Exit 0: valid.
"""
import copy
import json
import pathlib
import re
import sys

import jsonschema

# CDI SPEC.md: kind is "vendor/class"; vendor a DNS-like name, class and
# device names alphanumerics with '_', '-', '.' (and ':' in device names),
# beginning and ending with an alphanumeric.
KIND_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?/[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
DEVICE_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")


def schema_validator(schema_dir):
    schema_path = schema_dir / "schema.json"
    schema = json.loads(schema_path.read_text())
    store = {"defs.json": json.loads((schema_dir / "defs.json").read_text())}
    resolver = jsonschema.RefResolver(base_uri=schema_path.as_uri(), referrer=schema, store=store)
    # defs.json is referred to by its relative name; make it resolvable by URI too.
    store[(schema_dir / "defs.json").as_uri()] = store["defs.json"]
    return jsonschema.Draft7Validator(schema, resolver=resolver)


def naming_errors(spec):
    errors = []
    if not KIND_RE.match(spec.get("kind", "")):
        errors.append(f"kind {spec.get('kind')!r} is not vendor/class")
    names = [d.get("name", "") for d in spec.get("devices", [])]
    errors += [f"device name {n!r} is not a CDI device name" for n in names if not DEVICE_NAME_RE.match(n)]
    errors += [f"device name {n!r} is not unique" for n in sorted(set(names)) if names.count(n) > 1]
    if not names:
        errors.append("no devices")
    for device in spec.get("devices", []):
        for node in device.get("containerEdits", {}).get("deviceNodes", []):
            if not node.get("path", "").startswith("/dev/"):
                errors.append(f"device {device.get('name')!r}: node path {node.get('path')!r} is not under /dev")
    return errors


def all_errors(validator, spec):
    return [f"schema: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(spec)] + naming_errors(spec)


def main():
    schema_dir, spec_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    validator = schema_validator(schema_dir)
    spec = json.loads(spec_path.read_text())

    broken = copy.deepcopy(spec)
    broken["devices"][0]["containerEdits"]["deviceNodes"][0].pop("path")
    broken["devices"][0]["containerEdits"]["deviceNodes"][0]["major"] = "not a number"
    if not any(e.startswith("schema:") for e in all_errors(validator, broken)):
        print("FAIL: the schema accepted a device node without a path: the validator is not working")
        return 1

    errors = all_errors(validator, spec)
    for error in errors:
        print(f"FAIL: {spec_path}: {error}")
    if errors:
        return 1
    print(f"{spec_path}: valid CDI {spec['cdiVersion']} spec of kind {spec['kind']}, "
          f"{len(spec['devices'])} devices (schema {schema_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
