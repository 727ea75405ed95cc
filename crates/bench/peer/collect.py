"""The side-by-side peer of `inventory-bench --peer`.

Collects the Jira data that `atlassian-inventory collect --products jira` collects (users,
groups and their members, projects, project roles and their actors, permission schemes and
their grants) with atlassian-python-api, used the way its documentation shows: one
`Jira(url=..., username=..., password=..., cloud=True)` client and its methods, one request at
a time. Where that client has no method for an endpoint (`/group/bulk`, `/roledetails`), its
documented generic `get` is used. The client talks REST v2, its default.

Credentials and the site come from the environment (ATLASSIAN_SITE, ATLASSIAN_USERNAME,
ATLASSIAN_TOKEN), never from arguments. Every item is written as a JSON line to a temporary
file, as the collector writes its records. The last line on stdout is the report:
{"wall_s": ..., "records": ..., "families": {...}}.
"""

import json
import os
import sys
import tempfile
import time

from atlassian import Jira

USERS_PAGE = 1000  # Jira Cloud's largest /users/search page
MEMBERS_PAGE = 50  # /group/member: "number should be between 1 and 50"
GROUPS_PAGE = 50


def environment(name):
    value = os.environ.get(name, "").strip()
    if not value:
        sys.exit(f"peer: set {name}")
    return value


def users(jira):
    start = 0
    while True:
        page = jira.users_get_all(start=start, limit=USERS_PAGE)
        if not page:
            return
        yield from page
        start += len(page)


def groups(jira):
    start = 0
    while True:
        page = jira.get("rest/api/2/group/bulk", params={"startAt": start, "maxResults": GROUPS_PAGE})
        values = page.get("values", [])
        yield from values
        if page.get("isLast", True) or not values:
            return
        start += len(values)


def members(jira, group):
    start = 0
    while True:
        page = jira.get_all_users_from_group(
            group["name"], include_inactive_users=True, start=start, limit=MEMBERS_PAGE
        )
        values = page.get("values", [])
        yield from values
        if page.get("isLast", True) or not values:
            return
        start += len(values)


def main():
    jira = Jira(
        url=environment("ATLASSIAN_SITE"),
        username=environment("ATLASSIAN_USERNAME"),
        password=environment("ATLASSIAN_TOKEN"),
        cloud=True,
    )
    families = {}

    with tempfile.TemporaryFile("w") as out:

        def emit(family, item):
            out.write(json.dumps(item))
            out.write("\n")
            families[family] = families.get(family, 0) + 1

        started = time.monotonic()
        for user in users(jira):
            emit("users", user)
        for group in groups(jira):
            emit("groups", group)
            for member in members(jira, group):
                emit("group_members", member)
        for project in jira.projects():
            emit("projects", project)
            roles = jira.get(f"rest/api/2/project/{project['id']}/roledetails")
            for role in roles or []:
                emit("project_roles", role)
                actors = jira.get_project_actors_for_role_project(project["id"], role["id"])
                for actor in actors or []:
                    emit("role_actors", actor)
        for scheme in jira.get_all_permissionschemes(expand="permissions") or []:
            emit("permission_schemes", scheme)
            for grant in scheme.get("permissions", []):
                emit("permission_grants", grant)
        wall = time.monotonic() - started

    report = {"wall_s": wall, "records": sum(families.values()), "families": families}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
