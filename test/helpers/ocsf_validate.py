"""Validates OCSF events (JSON lines on stdin) against the OCSF schema itself.

The class schemas come from ocsf-json-schema (PyPI), which packages the OCSF server's schema
exports and turns a class into a JSON Schema (draft 2020-12, additionalProperties false); the
jsonschema package validates. Prints one JSON line per event: the list of problems (empty: valid).
Usage: ocsf_validate.py VERSION [VERSION ...]
"""
import json
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

schemas = {v: OcsfJsonSchemaEmbedded(get_ocsf_schema(v)) for v in sys.argv[1:]}
validators = {}


def validator(version, class_uid):
    key = (version, class_uid)
    if key not in validators:
        s = schemas[version]
        name = s.lookup_class_name_from_uid(class_uid)
        validators[key] = Draft202012Validator(s.get_class_schema(name))
    return validators[key]


for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    problems = []
    for version in schemas:
        try:
            v = validator(version, event.get("class_uid"))
        except Exception as e:  # an unknown class is a problem of the event
            problems.append(f"{version}: {e}")
            continue
        for err in v.iter_errors(event):
            path = "/".join(str(p) for p in err.absolute_path)
            problems.append(f"{version} {path}: {err.message}")
    print(json.dumps(problems))
