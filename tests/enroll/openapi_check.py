#!/usr/bin/python3
"""enroll/openapi.json against the server's route list (`jitsuind --routes`), both ways.

Usage: openapi_check.py OPENAPI.json ROUTES.txt [--calls CALLS.txt]
  ROUTES.txt: the output of `jitsuind --routes` (one "METHOD PATH" a line).
  With --calls FILE, writes one "METHOD PATH AUTH BODY" line per route for the shell test to call:
  AUTH is bearer when the document's security names a scheme, otherwise none; BODY a request made
  from the operation's schema (its required fields with example values), so that the handler's
  decoding passes and its authentication is what answers.
Exits 1 naming every difference: a route without an operation, an operation without a route, a
$ref that does not resolve, an operation without a summary or responses.
"""
import json
import sys

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def main():
    doc_path, routes_path = sys.argv[1], sys.argv[2]
    calls = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--calls" else None
    problems = []
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)   # valid JSON, or an exception naming the line
    if not str(doc.get("openapi", "")).startswith("3."):
        problems.append(f"openapi is {doc.get('openapi')!r}, not 3.x")
    for key in ("info", "paths", "components"):
        if key not in doc:
            problems.append(f"no {key}")

    # Every $ref resolves (local references only: the document stands alone).
    def resolve(ref):
        if not ref.startswith("#/"):
            return False
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    refs = 0

    def walk(node, where):
        nonlocal refs
        if isinstance(node, dict):
            if "$ref" in node:
                refs += 1
                if not resolve(node["$ref"]):
                    problems.append(f"{where}: $ref {node['$ref']} does not resolve")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc, "#")

    documented, security, bodies, call_paths = set(), {}, {}, {}

    def deref(schema):
        while "$ref" in schema:
            node = doc
            for part in schema["$ref"][2:].split("/"):
                node = node[part]
            schema = node
        return schema

    # A value for a schema: its example, or its required fields only (allOf merged, oneOf's first choice).
    def example(schema):
        schema = deref(schema)
        if "allOf" in schema:
            out = {}
            for part in schema["allOf"]:
                value = example(part)
                if isinstance(value, dict):
                    out.update(value)
            return out
        if "oneOf" in schema and "properties" not in schema:
            return example(schema["oneOf"][0])
        if "example" in schema:
            return schema["example"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object")
        if kind == "object":
            props = schema.get("properties", {})
            required = schema.get("required", []) + schema.get("oneOf", [{}])[0].get("required", [])
            return {k: example(props.get(k, {"type": "integer"})) for k in required}
        if kind == "array":
            return []
        if kind == "integer":
            return 1
        if kind == "boolean":
            return False
        return {"date": "2026-01-01", "date-time": "2026-01-01T00:00:00Z"}.get(schema.get("format"), "x")

    schemes = doc.get("components", {}).get("securitySchemes", {})
    default_security = doc.get("security", [])
    op_ids = set()
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            route = f"{method.upper()} {path}"
            documented.add(route)
            if not op.get("summary"):
                problems.append(f"{route}: no summary")
            if not op.get("responses"):
                problems.append(f"{route}: no responses")
            if "operationId" in op:
                if op["operationId"] in op_ids:
                    problems.append(f"{route}: operationId {op['operationId']} used twice")
                op_ids.add(op["operationId"])
            sec = op.get("security", default_security)
            for requirement in sec:
                for name in requirement:
                    if name not in schemes:
                        problems.append(f"{route}: security scheme {name} is not in components.securitySchemes")
            security[route] = "bearer" if any(sec) else "none"
            # A path parameter with an example is called with it (/crl/issuing-{partition}.crl).
            for param in op.get("parameters", []):
                if param.get("in") == "path" and "example" in param:
                    call_paths[route] = call_paths.get(route, f"{method.upper()} {path}").replace(
                        "{" + param["name"] + "}", str(param["example"]))
            if method == "post":
                schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
                bodies[route] = example(schema)

    with open(routes_path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    # webadmin: the browser's routes (web.h) end in " web": not API routes, not in the document.
    web = [line for line in lines if line.endswith(" web")]
    served = {line for line in lines if not line.endswith(" web")}
    if not any(line.startswith("POST /web/login ") for line in web):
        problems.append("jitsuind --routes lists no browser route (POST /web/login ... web)")
    for r in sorted(served - documented):
        problems.append(f"the server serves {r}, which enroll/openapi.json does not describe")
    for r in sorted(documented - served):
        problems.append(f"enroll/openapi.json describes {r}, which the server does not serve")

    if problems:
        print("openapi_check: FAILED", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    if calls:
        with open(calls, "w", encoding="utf-8") as f:
            for r in sorted(served):
                body = json.dumps(bodies.get(r, {}), separators=(",", ":"), ensure_ascii=True)
                f.write(f"{call_paths.get(r, r)} {security[r]} {body}\n")
    print(f"openapi_check: {len(served)} routes served and described, {refs} $refs resolve")


main()
