"""What a generated model needs besides torch.nn: which nodes an output depends on, the
parameters of a group's members, and which node an exception came from."""

from __future__ import annotations

import linecache
from collections.abc import Sequence

import torch
from torch import nn

from composer.runtime.guard import guarded_node


class Needed:
    """The nodes that requested outputs depend on, worked out once per tuple of outputs.

    `inputs` maps each computed output ("node.port") to the outputs feeding its node; any
    other name is a data port, read from the batch. `renamed` maps the few node ids that are
    not usable as Python variables (builtins, torch names) to the variable forward uses.
    `reusable` are computed outputs that may come in the batch instead, when an earlier
    group computed them this step and nothing since has changed them: the nodes behind such
    an output are then not computed again.
    """

    def __init__(self, inputs: dict[str, tuple[str, ...]],
                 renamed: dict[str, str] | None = None,
                 reusable: tuple[str, ...] = ()) -> None:
        self.inputs = inputs
        self.renamed = renamed or {}
        self.reusable = reusable
        self.plans: dict[tuple, tuple[frozenset[str], frozenset[str]]] = {}

    def __call__(self, outputs: Sequence[str], batch: dict[str, torch.Tensor]) -> frozenset[str]:
        """The node ids to compute; raises KeyError when the batch lacks a data port."""
        key = outputs if type(outputs) is tuple else tuple(outputs)
        given = tuple(r for r in self.reusable if r in batch) if self.reusable else ()
        plan = self.plans.get((key, given))
        if plan is None:
            plan = self.plans[(key, given)] = self.plan(key, given)
        nodes, ports = plan
        if not ports <= batch.keys():
            missing = ", ".join(sorted(ports - batch.keys()))
            raise KeyError(f"the batch has no {missing}, which {', '.join(key)} need(s)")
        return nodes

    def prepare(self, outputs: tuple[str, ...]) -> None:
        """Works out now the plan of a request that comes with nothing reused: a compiled
        forward then finds it, where adding it during the first call would make
        torch.compile compile that forward a second time."""
        if (outputs, ()) not in self.plans:
            self.plans[(outputs, ())] = self.plan(outputs)

    def plan(self, outputs: tuple[str, ...],
             given: tuple[str, ...] = ()) -> tuple[frozenset[str], frozenset[str]]:
        """(node ids to compute, batch entries read) for these outputs, when the `given`
        computed outputs come in the batch."""
        nodes: set[str] = set()
        ports: set[str] = set()
        todo = list(outputs)
        while todo:
            ref = todo.pop()
            if ref in self.inputs and ref not in given:
                node = ref.partition(".")[0]
                if node not in nodes:
                    nodes.add(node)
                    todo.extend(self.inputs[ref])
            elif "." in ref and not ref.startswith("."):
                ports.add(ref)
            else:
                known = ", ".join(self.inputs)
                raise KeyError(f"no output {ref!r}: use \"node.port\", one of {known} "
                               "or a data node's port")
        return frozenset(nodes), frozenset(ports)

    def data_nodes(self, outputs: Sequence[str]) -> list[str]:
        """The data nodes these outputs read, sorted."""
        return sorted({ref.partition(".")[0] for ref in self.plan(tuple(outputs))[1]})

    def pick(self, outputs: Sequence[str], batch: dict[str, torch.Tensor],
             values: dict[str, object]) -> dict[str, torch.Tensor]:
        """The requested outputs from forward's variables (or the batch, for data ports)."""
        picked = {}
        for ref in outputs:
            if ref in self.inputs:
                node, _, port = ref.partition(".")
                value = values[self.renamed.get(node, node)]
                # a network with several outputs gives them as a dict by port
                picked[ref] = value[port] if isinstance(value, dict) else value
            else:
                picked[ref] = batch[ref]
        return picked


def parameters_of(model: nn.Module, *nodes: str) -> list[nn.Parameter]:
    """The parameters of these nodes' modules, each once (tied modules share them). A node
    may be a path into network instances: "backbone/layer4"."""
    seen: set[int] = set()
    params = []
    for node in nodes:
        module = model
        for part in node.split("/"):
            module = getattr(module, part, None)
        if not isinstance(module, nn.Module):
            continue
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def failing_node(error: BaseException, model: nn.Module) -> str | None:
    """The node whose statement in the generated forward raised `error`, if it came from there.

    Each node's statement in forward sits under its NODE_GUARD; the traceback gives the line,
    the nearest guard above it names the node. Nothing is recorded while running.
    """
    code = type(model).forward.__code__
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None:
        return None
    for text in reversed(linecache.getlines(code.co_filename)[:line]):
        node = guarded_node(text)
        if node is not None:
            return node
    return None
