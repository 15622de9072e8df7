#!/usr/bin/env python3
"""Validates every *.snapshot.json, *.diagnosis.json, *.bench.json, *.compare.json, *.qualification.json,
*.history-check.json, *.policy.json and *.fleet.json under a folder against Reports/schema."""
import glob
import json
import os
import sys

import jsonschema
from referencing import Registry, Resource

schema_dir, folder = sys.argv[1], sys.argv[2]
schemas = {}
registry = Registry()
for path in glob.glob(os.path.join(schema_dir, "*.schema.json")):
    with open(path) as f:
        doc = json.load(f)
    jsonschema.Draft202012Validator.check_schema(doc)
    schemas[os.path.basename(path)] = doc
    resource = Resource.from_contents(doc)
    registry = registry.with_resources([(doc["$id"], resource), (os.path.basename(path), resource)])

checked = failed = 0
for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    kind = next((k for k in ("snapshot", "diagnosis", "bench", "compare", "qualification", "history-check", "policy",
                                "fleet")
                 if path.endswith(".%s.json" % k)), None)
    if kind is None:
        continue
    with open(path) as f:
        doc = json.load(f)
    # The document names its version (policies have none and are version 1): compare is at version 3.
    version = doc.get("version", 1) if isinstance(doc, dict) else 1
    name = "%s-v%s.schema.json" % (kind, version)
    if name not in schemas:
        print("schema: %s: no schema %s" % (os.path.basename(path), name))
        checked += 1
        failed += 1
        continue
    validator = jsonschema.Draft202012Validator(schemas[name], registry=registry)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    checked += 1
    if errors:
        failed += 1
        for e in errors[:5]:
            print("schema: %s: %s: %s" % (os.path.basename(path), "/".join(map(str, e.path)), e.message))
print("schema validation: %d documents checked, %d invalid" % (checked, failed))
sys.exit(1 if failed or checked == 0 else 0)
