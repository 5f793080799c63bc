"""Build-order graph algorithms: strongly connected components and waves.

Both are linear in nodes + edges and iterative (no recursion limit on a deep chain), so a
10,000-package release is ordered in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Set


def strongly_connected(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """Tarjan's components of ``graph`` (node -> nodes it needs) with more than one node
    or a self-edge: the build cycles. Each component sorted; the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))
    return sorted(cycles)


def waves(graph: Mapping[str, Set[str]]) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Layer an acyclic ``graph``: wave 0 needs nothing in the graph, wave k only earlier
    waves. Nodes whose needs include a node outside ``graph`` (or on a cycle) are blocked:
    returned with the missing needs they wait for."""
    needed_by: dict[str, list[str]] = {n: [] for n in graph}
    remaining: dict[str, int] = {}
    blocked: dict[str, list[str]] = {}
    for node, needs in graph.items():
        missing = sorted(n for n in needs if n not in graph)
        if missing:
            blocked[node] = missing
        remaining[node] = sum(1 for n in needs if n in graph)
        for need in needs:
            if need in needed_by:
                needed_by[need].append(node)
    current = sorted(n for n, count in remaining.items() if count == 0 and n not in blocked)
    layers: list[list[str]] = []
    while current:
        layers.append(current)
        nxt = []
        for node in current:
            for user in needed_by[node]:
                remaining[user] -= 1
                if remaining[user] == 0 and user not in blocked:
                    nxt.append(user)
        current = sorted(nxt)
    placed = {n for layer in layers for n in layer}
    for node in graph:
        if node not in placed and node not in blocked:
            waiting = sorted(n for n in graph[node] if n not in placed)
            blocked[node] = waiting
    return layers, dict(sorted(blocked.items()))
