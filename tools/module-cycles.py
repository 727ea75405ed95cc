#!/usr/bin/env python3
"""Fails when a crate's top-level modules import each other in a circle.

Usage: tools/module-cycles.py SRC_DIR [SRC_DIR ...]

A module is a file or folder directly under SRC_DIR; an import is a `crate::name` path in its
code (test modules and comments left out). Prints every cycle found, shortest rotation first,
and exits 1 if there is one.
"""
import os
import re
import sys


def modules(root):
    graph = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            top = parts[0] if parts else ""
            with open(path, encoding="utf-8") as source:
                text = source.read()
            text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
            text = re.sub(r"//[^\n]*", "", text)
            used = set(re.findall(r"crate::([a-z_][a-z0-9_]*)", text))
            graph.setdefault(top, set()).update(used - {top})
    return {name: {m for m in used if m in graph} for name, used in graph.items()}


def cycles(graph):
    found = set()

    def walk(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt):]
                start = cycle.index(min(cycle))
                found.add(tuple(cycle[start:] + cycle[:start]))
            else:
                walk(nxt, path + [nxt])

    for node in sorted(graph):
        walk(node, [node])
    return sorted(found, key=lambda c: (len(c), c))


def main(roots):
    failed = False
    for root in roots:
        for cycle in cycles(modules(root)):
            failed = True
            print(f"{root}: " + " -> ".join(cycle + (cycle[0],)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src"]))
