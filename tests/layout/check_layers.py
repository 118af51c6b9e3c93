#!/usr/bin/env python3
"""The daemon's folders form layers: a folder includes only from folders below it.

Reads every #include "folder/file.hpp" in daemon/*/ and fails, naming the file and line, when
a folder includes one above it or one it does not know, or when the includes between folders
form a cycle. The order is the one in daemon/README.md; a new folder must be placed in it here.
"""
import os
import re
import sys

# Lowest first. Folders on one line are side by side: neither includes the other.
LAYERS = [
    ["base"],
    ["metrics"],
    ["locales"],
    ["db"],
    ["memory"],
    ["store"],
    ["gestures"],
    ["hints"],
    ["chain"],
    ["till", "owner", "import"],
    ["net"],
    ["dashboard"],
    ["ctl"],
]
RANK = {folder: i for i, row in enumerate(LAYERS) for folder in row}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"')


def folder_includes(daemon_dir):
    """Yields (file, line number, folder, included folder) for every cross-folder include."""
    for folder in sorted(os.listdir(daemon_dir)):
        path = os.path.join(daemon_dir, folder)
        if not os.path.isdir(path):
            continue
        for root, _, files in os.walk(path):
            for name in sorted(files):
                if not name.endswith((".hpp", ".cpp")):
                    continue
                file = os.path.join(root, name)
                with open(file, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) != folder and m.group(1) != "wire":
                            yield file, number, folder, m.group(1)


def find_cycle(edges):
    """A cycle in the folder graph as a list of folders, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def main():
    daemon_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "daemon")
    problems, edges = [], {}
    folders = {d for d in os.listdir(daemon_dir) if os.path.isdir(os.path.join(daemon_dir, d))}
    for folder in sorted(folders):
        if folder not in RANK:
            problems.append(f"daemon/{folder}/ is not in the layer order of tests/layout/check_layers.py")
        if not os.path.exists(os.path.join(daemon_dir, folder, "README.md")):
            problems.append(f"daemon/{folder}/ has no README.md (what it owns, which threads run it, what it may call)")
    for file, number, folder, used in folder_includes(daemon_dir):
        edges.setdefault(folder, set()).add(used)
        if folder in RANK and used in RANK and RANK[used] >= RANK[folder]:
            problems.append(f"{file}:{number}: {folder}/ includes {used}/, which is not below it")
        elif used not in RANK:
            problems.append(f"{file}:{number}: includes from {used}/, which is not a daemon folder")
    cycle = find_cycle(edges)
    if cycle:
        problems.append("the folders include each other in a cycle: " + " -> ".join(cycle))
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"{len(folders)} folders, {sum(len(v) for v in edges.values())} folder-to-folder dependencies, all downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
