#!/usr/bin/env python3
"""Regenerates the spec subsets in fixtures/spec/ from the official specs.

- `jira`: fixtures/spec/jira-platform-subset.json from the Jira platform spec;
- `confluence-v1`, `confluence-v2`: fixtures/spec/confluence-v1-subset.json and
  confluence-v2-subset.json (v2 paths are relative to /wiki/api/v2, as in its spec);
- `jsm`: fixtures/spec/jsm-subset.json from the Jira Service Management spec;
- `admin`: fixtures/spec/admin-organization-subset.json from the Admin organization spec (its
  paths lack the `/admin` prefix: the spec's server base is https://api.atlassian.com/admin).

Each keeps the `paths` entries (only the methods) the simulated tenant serves, the
`components.responses` they reference, the transitive closure of `components.schemas` they
reference, and the error bodies listed in ALWAYS (Jira's `ErrorCollection`, the Admin gateway's
`ProxyError` and `ApplicationError` wrappers). Everything is copied verbatim so tests/it/spec.rs
can check a subset still equals its full spec.

Usage: python3 tools/spec-subset.py [NAME [FULL_SPEC [OUT]]]
Without arguments every subset is regenerated from ../shared/atlassian-api/specs/, relative to
the crate root (ATLASSIAN_API_SPECS overrides that folder).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.environ.get(
    "ATLASSIAN_API_SPECS", os.path.join(ROOT, "..", "shared", "atlassian-api", "specs")
)
FIXTURES = os.path.join(ROOT, "fixtures", "spec")

# Keep in step with crates/tenant/src/jira.rs.
JIRA_SERVED = [
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

# Keep in step with crates/tenant/src/admin.rs: the v1 paths the spec copy has. The v2 directory,
# api-access and events-stream paths are not in it.
ADMIN_SERVED = [
    ("get", "/v1/orgs"),
    ("get", "/v1/orgs/{orgId}"),
    ("get", "/v1/orgs/{orgId}/domains"),
    ("get", "/v1/orgs/{orgId}/users"),
    ("get", "/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates"),
]

# Keep in step with crates/tenant/src/confluence.rs. Confluence error bodies are not modelled.
CONFLUENCE_V1_SERVED = [
    ("get", "/wiki/rest/api/group"),
    ("get", "/wiki/rest/api/group/{groupId}/membersByGroupId"),
    ("get", "/wiki/rest/api/audit/retention"),
    ("get", "/wiki/rest/api/audit"),
]
# Keep in step with crates/tenant/src/jsm.rs and the workspace discovery in crates/tenant/src/assets.rs.
JSM_SERVED = [
    ("get", "/rest/servicedeskapi/assets/workspace"),
    ("get", "/rest/servicedeskapi/insight/workspace"),
    ("get", "/rest/servicedeskapi/servicedesk"),
    ("get", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"),
    ("get", "/rest/servicedeskapi/organization"),
    ("get", "/rest/servicedeskapi/organization/{organizationId}/user"),
]
CONFLUENCE_V2_SERVED = [("get", "/spaces"), ("get", "/spaces/{id}/permissions")]

SUBSETS = {
    "jira": ("jira-platform-swagger-v3.v3.json", "jira-platform-subset.json", JIRA_SERVED,
             ["ErrorCollection"]),
    "confluence-v1": ("confluence-v1-swagger.v3.json", "confluence-v1-subset.json",
                      CONFLUENCE_V1_SERVED, []),
    "confluence-v2": ("confluence-v2-openapi-v2.v3.json", "confluence-v2-subset.json",
                      CONFLUENCE_V2_SERVED, []),
    "jsm": ("jira-service-management-swagger.v3.json", "jsm-subset.json", JSM_SERVED, []),
    "admin": ("admin-organization-swagger.v3.json", "admin-organization-subset.json",
              ADMIN_SERVED, ["ApplicationError", "Errors.ApplicationErrors.Model", "ProxyError"]),
}
SCHEMA = "#/components/schemas/"
RESPONSE = "#/components/responses/"


def refs(node, prefix):
    """Every component name with `prefix` a JSON node references, directly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith((SCHEMA, RESPONSE)):
                sys.exit(f"unsupported $ref {ref}")
            if ref.startswith(prefix):
                yield ref[len(prefix):]
        for value in node.values():
            yield from refs(value, prefix)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value, prefix)


def subset(name, full_path, out_path):
    _, _, served, always = SUBSETS[name]
    with open(full_path) as f:
        full = json.load(f)
    paths = {}
    for method, path in served:
        paths.setdefault(path, {})[method] = full["paths"][path][method]
    all_responses = full["components"].get("responses", {})
    responses = {r: all_responses[r] for r in sorted(set(refs(paths, RESPONSE)))}
    schemas = full["components"]["schemas"]
    wanted = set(always)
    todo = list(refs(paths, SCHEMA)) + list(refs(responses, SCHEMA)) + always
    while todo:
        schema = todo.pop()
        wanted.add(schema)
        todo.extend(r for r in refs(schemas[schema], SCHEMA) if r not in wanted)
    components = {"schemas": {s: schemas[s] for s in sorted(wanted)}}
    if responses:
        components["responses"] = responses
    out = {
        "openapi": full["openapi"],
        "info": {
            "title": full["info"]["title"] + " (subset served by the simulated tenant)",
            "version": full["info"]["version"],
        },
        "paths": paths,
        "components": components,
    }
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{out_path}: {len(paths)} paths, {len(responses)} responses, {len(wanted)} schemas")


def main():
    names = [sys.argv[1]] if len(sys.argv) > 1 else list(SUBSETS)
    for name in names:
        if name not in SUBSETS:
            sys.exit(f"unknown subset {name}; one of {', '.join(SUBSETS)}")
        spec_file, out_file, _, _ = SUBSETS[name]
        full_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(SPECS, spec_file)
        out_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(FIXTURES, out_file)
        subset(name, full_path, out_path)


if __name__ == "__main__":
    main()
