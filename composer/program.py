"""Graph -> the whole generated program: runtime, model, data, groups, settings and main().

This one text is what `composer export` writes and what `composer.train` and
`composer.compile` execute, so the exported file and the application cannot drift.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from composer.catalogue.base import Source, call, literal
from composer.codegen import ModelCode, checked_id, model_code, node_type, validated_params
from composer.embed import imports_for, needed_definitions
from composer.errors import CompileError, ParamError
from composer.graph import Graph, Group
from composer.optim import LR_SCHEDULES, OPTIMIZERS, SCHEDULE
from composer.params import Float, Int, Param
from composer.shapes import Shapes, infer
from composer.sourcetext import Import, import_block, wrap

_FUTURE = Import("__future__", "annotations")

OPTIMIZER_CLASSES = {"sgd": "torch.optim.SGD", "adam": "torch.optim.Adam",
                     "adamw": "torch.optim.AdamW", "rmsprop": "torch.optim.RMSprop"}
LR_FUNCTIONS = {"step": "step_lr", "cosine": "cosine_lr", "warmup_cosine": "warmup_cosine_lr",
                "exponential": "exponential_lr"}

HEADER = '''"""A composed model and the code that trains it, exported by Model Composer.

It trains exactly as the application does; run it with --help for the options. It needs torch
and numpy (and scikit-learn for the built-in digits), not Model Composer.
"""'''


def _settings(group_id: str, what: str, given: dict, decls: tuple[Param, ...]) -> dict:
    """Declared settings over their defaults, each validated; unknown ones are an error."""
    clean = {d.name: d.default for d in decls}
    for key, value in given.items():
        decl = next((d for d in decls if d.name == key), None)
        if decl is None:
            raise CompileError(group_id, f"{what} has no setting {key!r}")
        try:
            clean[key] = decl.validate(value)
        except ParamError as e:
            raise CompileError(group_id, f"{what}.{key}: {e}") from e
    return clean


def _schedule(group: Group) -> str:
    s = _settings(group.id, "schedule", {k: v for k, v in group.schedule.items()
                                         if k != "epochs"}, SCHEDULE)
    first, end = group.schedule.get("epochs", [0, None])
    try:
        Int("first", 0, min=0).validate(first)
        Int("end", None, min=first + 1, optional=True).validate(end)
    except ParamError as e:
        raise CompileError(group.id, f"schedule.epochs: {e}") from e
    return call("Schedule", every=s["every"], offset=s["offset"], epochs=(first, end),
                repeat=s["repeat"])


def _optimizer(group: Group, members: list[str]) -> str:
    kind = group.optimizer.get("type")
    if kind not in OPTIMIZERS:
        raise CompileError(group.id, f"unknown optimizer {kind!r}; one of {', '.join(OPTIMIZERS)}")
    args = _settings(group.id, "optimizer", {k: v for k, v in group.optimizer.items()
                                             if k != "type"}, OPTIMIZERS[kind])
    if args.get("nesterov") and not args.get("momentum"):
        raise CompileError(group.id, "optimizer.nesterov needs a momentum above 0")
    params = Source(call("parameters_of", Source("model"), *members))
    return call(OPTIMIZER_CLASSES[kind], params, **args)


def _lr_at(group: Group) -> str:
    kind = group.lr_schedule.get("type", "constant")
    if kind not in LR_SCHEDULES:
        raise CompileError(group.id, f"unknown lr_schedule {kind!r}; one of "
                                     f"{', '.join(LR_SCHEDULES)}")
    args = _settings(group.id, "lr_schedule", {k: v for k, v in group.lr_schedule.items()
                                               if k != "type"}, LR_SCHEDULES[kind])
    return "None" if kind == "constant" else call("partial", Source(LR_FUNCTIONS[kind]), **args)


def group_call(graph: Graph, group: Group, model: ModelCode,
               owner: dict[str, str]) -> list[str]:
    """Source of one `Group(...)`; checks what the optimiser updates and minimises."""
    checked_id(group.id, "group")
    for node_id in group.members + group.losses:
        if node_id not in graph.nodes:
            raise CompileError(group.id, f"lists {node_id!r}, which is not a node")
    if not group.losses:
        raise CompileError(group.id, "minimises no loss: list at least one loss node")
    weights = {}
    for loss in group.losses:
        t = node_type(graph.nodes[loss])
        if not t.is_loss:
            raise CompileError(group.id, f"lists {loss} as a loss, but it is a {t.id}")
        if owner.setdefault(loss, group.id) != group.id:
            raise CompileError(loss, f"is listed by groups {owner[loss]} and {group.id}; "
                                     "a loss belongs to at most one group")
        weights[loss] = validated_params(graph.nodes[loss], t)["weight"]
    with_params = [m for m in group.members if m in model.nodes and model.nodes[m].module]
    if not with_params:
        raise CompileError(group.id, "its members have no parameters to update")
    clip = group.clip_grad_norm
    if clip is not None:
        clip = Float("clip_grad_norm", None, min=0.0, min_exclusive=True).validate(clip)
    losses = ", ".join(f"{literal(k)}: {v!r}" for k, v in weights.items())
    return [
        "        Group(",
        f"            {literal(group.id)},",
        f"            {_optimizer(group, with_params)},",
        f"            losses={{{losses}}},",
        f"            schedule={_schedule(group)},",
        f"            lr_at={_lr_at(group)},",
        f"            clip_grad_norm={clip!r},",
        "        ),",
    ]


def _make_data(graph: Graph) -> list[str]:
    lines = ["def make_data(seed: int, data_dir: Path) -> dict[str, Any]:",
             '    """One batch source per data node; splits and order are fixed by the seed."""',
             "    return {"]
    for node in graph.nodes.values():
        t = node_type(node)
        if t.is_data:
            p = validated_params(node, t)
            lines.append(f"        {literal(node.id)}: {t.emit_data(node.id, p)},")
    return lines + ["    }"]


def _make_groups(graph: Graph, model: ModelCode) -> list[str]:
    owner: dict[str, str] = {}
    calls = [line for g in graph.groups for line in group_call(graph, g, model, owner)]
    if not calls:
        raise CompileError(None, "the graph has no optimiser group, so nothing would train")
    return ["def make_groups(model: Model) -> list[Group]:",
            '    """The optimiser groups, in file order: what each updates and minimises, when."""',
            "    return [", *calls, "    ]"]


def _accuracy(graph: Graph, model: ModelCode) -> dict[str, tuple[str, str]]:
    pairs = {}
    for node_id, n in model.nodes.items():
        if node_type(graph.nodes[node_id]).accuracy:
            pairs[node_id] = (n.inputs["pred"], n.inputs["target"])
    return pairs


def _program(graph: Graph, model: ModelCode, data_dir: Path | None) -> list[str]:
    t = graph.training
    losses = tuple(n for n in model.nodes if node_type(graph.nodes[n]).is_loss)
    epochs = Int("epochs", 5, min=1).validate(t.epochs)
    seed = Int("seed", 0, min=0, max=2**32 - 1).validate(t.seed)
    spe = Int("steps_per_epoch", None, min=1, optional=True).validate(t.steps_per_epoch)
    if not isinstance(t.device, str) or not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", t.device):
        raise CompileError(None, f"training.device: expected auto, cpu, cuda, cuda:N or mps, "
                                 f"got {t.device!r}")
    device = t.device
    accuracy = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in _accuracy(graph, model).items())
    uses_files = any(node_type(n).reads_files for n in graph.nodes.values())
    folder = call("Path", str(data_dir)) if uses_files and data_dir is not None else "None"
    return [
        "PROGRAM = Program(",
        f"    name={literal(graph.name)},",
        "    model=Model,",
        "    make_data=make_data,",
        "    make_groups=make_groups,",
        f"    losses={literal(losses)},",
        f"    accuracy={{{accuracy}}},",
        f"    epochs={epochs!r},",
        f"    seed={seed!r},",
        f"    device={literal(device)},",
        f"    steps_per_epoch={spe!r},",
        f"    data_dir={folder},  # where relative data paths start",
        ")",
    ]


MAIN = [
    "def main(argv: list[str] | None = None) -> int:",
    '    """Trains the model as Model Composer does; `--help` lists the options."""',
    "    return command_line(PROGRAM, argv)",
    "",
    "",
    'if __name__ == "__main__":',
    "    sys.exit(main())",
]


def _problems(graph: Graph, shapes: Shapes) -> None:
    """Raises CompileError for the first error composer.checks finds."""
    try:
        from composer.checks import check
    except ImportError:
        return  # without the checks, shape inference still reports the first problem
    for d in check(graph, shapes):
        if d.is_error:
            where = f"{d.node}.{d.port}" if d.node and d.port else d.node
            raise CompileError(where, d.message)


def program_source(graph: Graph, data_dir: Path | None = None) -> str:
    """The whole program for this graph: what export writes and what the application runs.

    `data_dir` is where relative data paths start (default: the graph file's folder).
    Raises CompileError naming the first node (or group) that cannot be compiled.
    """
    shapes = infer(graph)
    _problems(graph, shapes)
    model = model_code(graph, shapes)
    setup = _lines(_make_data(graph) + ["", ""] + _make_groups(graph, model))
    tail = _lines(_program(graph, model, data_dir or graph.base_dir.resolve()) + ["", ""] + MAIN)
    generated = "\n\n\n".join([model.source.rstrip(), setup, tail])
    roots = {n.id for n in ast.walk(ast.parse(generated)) if isinstance(n, ast.Name)}
    runtime = "\n\n\n".join(d.source for d in needed_definitions(roots | model.uses))
    body = "\n\n\n".join([
        "# The model: one statement per node of the graph.", model.source.rstrip(),
        "# How it trains: a batch source per data node, the optimiser groups.", setup,
        "# What the generated code runs on: data, schedules, the training loop.", runtime,
        "# The graph's training settings, and the command line.", tail]) + "\n"
    imports = import_block(imports_for(body) | {_FUTURE})
    return HEADER + "\n\n" + imports + "\n\n" + body


def _lines(lines: list[str]) -> str:
    """Lines joined, each wrapped to the line length."""
    return "\n".join(out for line in lines for out in wrap(line))


def export_python(graph: Graph, data_dir: Path | None = None) -> str:
    """The standalone training script for this graph: the very program the application runs.

    It needs torch and numpy (and scikit-learn for the built-in digits), not this project.
    """
    return program_source(graph, data_dir)
