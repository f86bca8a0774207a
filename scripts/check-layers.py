#!/usr/bin/env python3
"""Fails when modules of src/ import each other in a cycle (the layering rule in README.md).

A module is a file (`src/pipeline.rs`) or a folder (`src/sink/`, with its children). Imports are
the `crate::...` and `super::...` paths in code (comments and `#[cfg(test)] mod tests` left out).
Two views are checked, and both must be free of cycles:
  - files: each file is a node; a file may use its own ancestors and descendants;
  - folders: every top-level module with all its children is one node.
Usage: python3 scripts/check-layers.py [--levels]   (--levels prints the layers, bottom first)
"""
import collections
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    """Module path ("sink::embedded") -> file, for the library (not src/bin)."""
    found = {}
    for folder, _, files in os.walk(SRC):
        relative = os.path.relpath(folder, SRC)
        if relative.split(os.sep)[0] == "bin":
            continue
        for name in files:
            if not name.endswith(".rs"):
                continue
            parts = [] if relative == "." else relative.split(os.sep)
            stem = name[:-3]
            if stem not in ("mod", "lib"):
                parts.append(stem)
            if parts and parts[-1] == "tests":
                continue
            found["::".join(parts)] = os.path.join(folder, name)
    return found


def code_of(path):
    text = open(path, encoding="utf-8").read()
    tests = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    if tests:
        text = text[: tests.start()]
    return "\n".join(line for line in text.split("\n") if not line.strip().startswith("//"))


def paths_in(code):
    """Every `crate::a::b` path, with `crate::{a, b::c}` groups expanded."""
    for match in re.finditer(r"crate::(\{[^;]*?\}|[A-Za-z_][A-Za-z_0-9:]*)", code):
        used = match.group(1)
        if used.startswith("{"):
            depth, item, items = 0, "", []
            for ch in used[1:]:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    if depth == 0:
                        items.append(item)
                        break
                    depth -= 1
                if ch == "," and depth == 0:
                    items.append(item)
                    item = ""
                    continue
                item += ch
            for item in items:
                yield item.split("{")[0].strip().strip(":")
        else:
            yield used.strip(":")


def resolve(path, known):
    parts = path.split("::")
    for end in range(len(parts), 0, -1):
        name = "::".join(parts[:end])
        if name in known:
            return name
    return None


def graph(known, depth):
    """Edges between nodes: modules cut to `depth` path segments (None: whole path)."""
    def node(module):
        return "::".join(module.split("::")[:depth]) if depth else module

    edges = collections.defaultdict(set)
    for module, path in known.items():
        code = code_of(path)
        used = list(paths_in(code))
        own = module.split("::") if module else []
        for match in re.finditer(r"\bsuper::([A-Za-z_][A-Za-z_0-9:]*)", code):
            used.append("::".join(own[:-1] + [match.group(1).strip(":")]))
        for path_used in used:
            target = resolve(path_used, known)
            if target is None or target == module:
                continue
            a, b = node(module), node(target)
            related = a == b or not a or not b or b.startswith(a + "::") or a.startswith(b + "::")
            if not related:
                edges[a].add(b)
    return edges


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def layers(edges, nodes):
    level = {}

    def of(v):
        if v not in level:
            level[v] = 0
            level[v] = 1 + max((of(w) for w in edges[v]), default=-1)
        return level[v]

    by_level = collections.defaultdict(list)
    for v in nodes:
        by_level[of(v)].append(v)
    return [sorted(by_level[k]) for k in sorted(by_level)]


def main():
    known = modules()
    failed = False
    for view, depth in (("files", None), ("folders", 1)):
        edges = graph(known, depth)
        for component in cycles(edges):
            failed = True
            print(f"import cycle ({view}): {', '.join(component)}", file=sys.stderr)
            members = set(component)
            for a in component:
                for b in sorted(edges[a] & members):
                    print(f"  {a} -> {b}", file=sys.stderr)
    if failed:
        print("error: modules of src/ import each other in a cycle; see the layering rule in README.md (Architecture)", file=sys.stderr)
        return 1
    if "--levels" in sys.argv:
        edges = graph(known, 1)
        nodes = {m.split("::")[0] for m in known if m}
        for n, layer in enumerate(layers(edges, nodes)):
            print(n, " ".join(layer))
    else:
        print(f"no import cycles among the {len(known)} modules of src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
