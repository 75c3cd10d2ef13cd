"""One forward where a hand-written loop does one (docs/FORMAT.md, "Training at scale").

Within a step, the groups run in file order, each with its own forward. An output an earlier
group computed can serve a later one when no update in between changed a weight it depends on
and no backward in between went through it (that would have freed its graph). The GAN's
generator then runs once per step, as in pytorch/examples' DCGAN: the discriminator's group
computes the fakes, and the generator's group uses the same fakes through the updated
discriminator.

This module finds, from the graph, the outputs where that reuse happens and which groups'
updates make each one stale; the training loop does the rest at run time.
"""

from __future__ import annotations

from composer.analysis.checks import Analysis
from composer.graph import Graph


def reused_outputs(graph: Graph, analysis: Analysis) -> dict[str, tuple[str, ...]]:
    """Output ("node.port") -> the groups whose update makes it stale, for each output a
    later group can take from an earlier group's forward in the same step (with every group
    active; the loop checks the groups that actually ran)."""
    types = {n: graph.type_of(node) for n, node in graph.nodes.items()}
    nodes = {n for n, t in types.items() if not t.is_data}
    parents: dict[str, set[str]] = {n: set() for n in nodes}
    for e in graph.edges:
        if e.src in nodes and e.dst in nodes:
            parents[e.dst].add(e.src)
    children: dict[str, set[str]] = {n: set() for n in nodes}
    for n, ps in parents.items():
        for p in ps:
            children[p].add(n)
    ancestors = {n: _closure(n, parents) for n in nodes}
    groups = [g for g in graph.groups if g.id in analysis.valid.groups]
    need = {g.id: set().union(*(ancestors[x] for x in g.losses if x in nodes)) for g in groups}
    # a group's update makes an output stale when it changes a weight the output depends on,
    # or when its backward went through the output's graph (which frees that graph)
    reach = {g.id: graph.gradient_reach(g.losses) for g in groups}
    stale_by = {n: tuple(g.id for g in groups
                         if _updates(graph, analysis, g.members, ancestors[n])
                         or ancestors[n] & reach[g.id])
                for n in nodes}
    reusable: set[str] = set()
    for j, later in enumerate(groups):
        for i in range(j):
            between = {g.id for g in groups[i:j]}
            reusable |= {n for n in need[groups[i].id] & need[later.id]
                         if len(types[n].outputs) == 1 and not between & set(stale_by[n])}
    frontier = [n for n in graph.nodes if n in reusable and children[n] - reusable]
    return {f"{n}.{types[n].outputs[0].name}": stale_by[n] for n in frontier}


def _closure(start: str, step: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in step.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _updates(graph: Graph, analysis: Analysis, members: list[str], nodes: set[str]) -> bool:
    """Does a group with these members change a weight any of these top-level nodes use?
    A tied node uses the weights of the node it shares."""
    flat = analysis.flat

    def root(node: str) -> str:
        shares = graph.nodes[node].shares if node in graph.nodes else None
        return shares if shares is not None else node

    used = {root(n) for n in nodes}
    return any(root(flat.owner(m)) in used or flat.owner(m) in nodes
               for member in members for m in flat.members(member))
