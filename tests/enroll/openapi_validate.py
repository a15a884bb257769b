#!/usr/bin/python3
"""Checks real API traffic against enroll/openapi.json: the request a test sent against the
operation's request schema, and the answer against the schema of its status (200: the handler's
response; otherwise the Error body), so that the document's shapes cannot drift from the handlers.

Usage: openapi_validate.py OPENAPI.json HANDLER REQUEST.json STATUS RESPONSE.json
Implements the part of JSON Schema the document uses: $ref, type, properties, required,
additionalProperties, items, enum, allOf, oneOf, minimum, maximum, pattern, format date/date-time.
"""
import json
import re
import sys

doc_path, handler, request_path, status, response_path = sys.argv[1:6]
with open(doc_path, encoding="utf-8") as f:
    doc = json.load(f)
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}
FORMATS = {"date": r"^\d{4}-\d\d-\d\d$", "date-time": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}


def deref(node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def errors(value, schema, where):
    """The ways value breaks schema, as messages naming where."""
    schema = deref(schema)
    out = []
    for part in schema.get("allOf", []):
        out += errors(value, part, where)
    if "oneOf" in schema:
        matching = [i for i, part in enumerate(schema["oneOf"]) if not errors(value, part, where)]
        if len(matching) != 1:
            out.append(f"{where}: matches {len(matching)} of oneOf {schema['oneOf']}, not exactly one")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} is not one of {schema['enum']}")
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return out + [f"{where}: {value!r} is not an integer"]
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return out + [f"{where}: {value!r} is not a number"]
    elif kind is not None and not isinstance(value, TYPES[kind]):
        return out + [f"{where}: {type(value).__name__} where the document says {kind}"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") in FORMATS and not re.match(FORMATS[schema["format"]], value):
            out.append(f"{where}: {value!r} is not a {schema['format']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{where}: required field '{name}' is missing")
        extra = schema.get("additionalProperties", True)
        for name, v in value.items():
            if name in props:
                out += errors(v, props[name], f"{where}.{name}")
            elif extra is False and ("properties" in schema):
                out.append(f"{where}: field '{name}' is not in the document")
            elif isinstance(extra, dict):
                out += errors(v, extra, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += errors(v, schema["items"], f"{where}[{i}]")
    return out


op = doc["paths"].get(f"/api/v1/{handler}", {}).get("post")
if op is None:
    sys.exit(f"openapi_validate: no operation POST /api/v1/{handler} in the document")
with open(request_path, encoding="utf-8") as f:
    request = json.load(f)
with open(response_path, encoding="utf-8") as f:
    response = json.load(f)
problems = errors(request, op["requestBody"]["content"]["application/json"]["schema"], "request")
answer = deref(op["responses"].get(status) or {})
if not answer:
    problems.append(f"status {status} is not among the operation's responses")
else:
    problems += errors(response, answer["content"]["application/json"]["schema"], f"response {status}")
if problems:
    print(f"openapi_validate: {handler}: the traffic does not match enroll/openapi.json:", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
