#!/usr/bin/env python3
"""Regenerates the spec subsets in fixtures/spec/ from the official specs.

Without arguments, every subset: jira-platform-subset.json, confluence-v1-subset.json and
confluence-v2-subset.json (Confluence v2 paths are relative to /wiki/api/v2, as in its spec).
With FULL_SPEC and OUT, only the Jira platform subset, from and to those files.

For the Jira platform spec:

Keeps the `paths` entries (only the methods) the simulated tenant serves, the transitive closure
of `components.schemas` they reference, and `ErrorCollection` (Jira's error body, which the
narrative documents for every error status). Schemas are copied verbatim so
tests/it/spec.rs can check the subset still equals the full spec.

Usage: python3 tools/spec-subset.py [FULL_SPEC] [OUT]
Defaults: ../shared/atlassian-api/specs/jira-platform-swagger-v3.v3.json and
fixtures/spec/jira-platform-subset.json, relative to the crate root.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ATLASSIAN_API_SPECS overrides where the full specs are (for checkouts not beside ../shared).
SPECS = os.environ.get(
    "ATLASSIAN_API_SPECS", os.path.join(ROOT, "..", "shared", "atlassian-api", "specs")
)
FULL = os.path.join(SPECS, "jira-platform-swagger-v3.v3.json")
OUT = os.path.join(ROOT, "fixtures", "spec", "jira-platform-subset.json")

# Keep in step with src/tenant/jira.rs.
SERVED = [
    ("get", "/rest/api/3/users/search"),
    ("get", "/rest/api/3/group/bulk"),
    ("get", "/rest/api/3/group/member"),
    ("get", "/rest/api/3/project/search"),
    ("get", "/rest/api/3/project/{projectIdOrKey}/roledetails"),
    ("get", "/rest/api/3/project/{projectIdOrKey}/role/{id}"),
    ("get", "/rest/api/3/project/{projectKeyOrId}/permissionscheme"),
    ("get", "/rest/api/3/permissionscheme"),
    ("get", "/rest/api/3/application-properties"),
    ("get", "/rest/api/3/applicationrole"),
    ("get", "/rest/api/3/search"),
    ("post", "/rest/api/3/search"),
]
ALWAYS = ["ErrorCollection"]

# Keep in step with src/tenant/confluence.rs. Confluence error bodies are not modelled.
CONFLUENCE = [
    (
        os.path.join(SPECS, "confluence-v1-swagger.v3.json"),
        os.path.join(ROOT, "fixtures", "spec", "confluence-v1-subset.json"),
        [
            ("get", "/wiki/rest/api/group"),
            ("get", "/wiki/rest/api/group/{groupId}/membersByGroupId"),
            ("get", "/wiki/rest/api/audit/retention"),
            ("get", "/wiki/rest/api/audit"),
        ],
    ),
    (
        os.path.join(SPECS, "confluence-v2-openapi-v2.v3.json"),
        os.path.join(ROOT, "fixtures", "spec", "confluence-v2-subset.json"),
        [("get", "/spaces"), ("get", "/spaces/{id}/permissions")],
    ),
]
PREFIX = "#/components/schemas/"


def refs(node):
    """Every schema name a JSON node references, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(PREFIX):
                sys.exit(f"unsupported $ref {ref}")
            yield ref[len(PREFIX):]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def main():
    if len(sys.argv) > 1:
        subset(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else OUT, SERVED, ALWAYS)
        return
    subset(FULL, OUT, SERVED, ALWAYS)
    for full_path, out_path, served in CONFLUENCE:
        subset(full_path, out_path, served, [])


def subset(full_path, out_path, served, always):
    with open(full_path) as f:
        full = json.load(f)
    paths = {}
    for method, path in served:
        paths.setdefault(path, {})[method] = full["paths"][path][method]
    schemas = full["components"]["schemas"]
    wanted = set(always)
    todo = list(refs(paths)) + always
    while todo:
        name = todo.pop()
        wanted.add(name)
        todo.extend(r for r in refs(schemas[name]) if r not in wanted)
    subset = {
        "openapi": full["openapi"],
        "info": {
            "title": full["info"]["title"] + " (subset served by the simulated tenant)",
            "version": full["info"]["version"],
        },
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }
    with open(out_path, "w") as f:
        json.dump(subset, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{out_path}: {len(paths)} paths, {len(wanted)} schemas")


if __name__ == "__main__":
    main()
