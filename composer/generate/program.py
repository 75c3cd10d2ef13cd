"""Graph -> the whole generated program: runtime, model, data, groups, settings and main().

This one text is what `composer export` writes and what `composer.train` and
`composer.compile` execute, so the exported file and the application cannot drift.
"""

from __future__ import annotations

import ast
from pathlib import Path

from composer.analysis.checks import Analysis
from composer.catalogue.base import Source, call, literal
from composer.errors import CompileError
from composer.generate.codegen import ModelCode, analysed, model_code
from composer.generate.embed import imports_for, needed_definitions
from composer.generate.sourcetext import Import, import_block, wrap
from composer.graph import Graph, Group
from composer.optim import LR_FUNCTIONS, LR_SCHEDULES, OPTIMIZER_CLASSES, OPTIMIZERS
from composer.params import Param

_FUTURE = Import("__future__", "annotations")

HEADER = '''"""A composed model and the code that trains it, exported by Model Composer.

It trains exactly as the application does; run it with --help for the options. It needs torch
and numpy (scikit-learn for the built-in digits, Pillow for image folders), not Model Composer.
"""'''


def _with_defaults(given: dict, decls: tuple[Param, ...]) -> dict:
    """Every declared setting, so the generated call spells out what the run uses."""
    return {d.name: d.default for d in decls} | {k: v for k, v in given.items() if k != "type"}


def _schedule(settings: dict) -> str:
    s = settings["schedule"]
    return call("Schedule", every=s["every"], offset=s["offset"], epochs=tuple(s["epochs"]),
                repeat=s["repeat"])


def _optimizer(settings: dict, members: list[str]) -> str:
    kind = settings["optimizer"]["type"]
    args = _with_defaults(settings["optimizer"], OPTIMIZERS[kind])
    params = Source(call("parameters_of", Source("model"), *members))
    return call(OPTIMIZER_CLASSES[kind], params, **args)


def _lr_at(settings: dict) -> str:
    kind = settings["lr_schedule"]["type"]
    if kind == "constant":
        return "None"
    args = _with_defaults(settings["lr_schedule"], LR_SCHEDULES[kind])
    return call("partial", Source(LR_FUNCTIONS[kind]), **args)


def _has_weights(member: str, analysis: Analysis) -> bool:
    """A member (a node, an instance, a path into one) with a module holding weights."""
    nodes = analysis.flat.graph.nodes
    return any(nodes[n].node_type is not None and nodes[n].node_type.module is not None
               for n in analysis.flat.members(member) if n in nodes)


def group_call(graph: Graph, group: Group, model: ModelCode, analysis: Analysis) -> list[str]:
    """Source of one `Group(...)`: what its optimiser updates and minimises, and when."""
    settings = analysis.valid.groups[group.id]
    weights = {loss: analysis.params[loss]["weight"] for loss in group.losses}
    with_params = [m for m in group.members if _has_weights(m, analysis)]
    losses = ", ".join(f"{literal(k)}: {v!r}" for k, v in weights.items())
    return [
        "        Group(",
        f"            {literal(group.id)},",
        f"            {_optimizer(settings, with_params)},",
        f"            losses={{{losses}}},",
        f"            schedule={_schedule(settings)},",
        f"            lr_at={_lr_at(settings)},",
        f"            clip_grad_norm={settings['clip_grad_norm']!r},",
        "        ),",
    ]


def _make_data(graph: Graph, analysis: Analysis) -> list[str]:
    lines = ["def make_data(seed: int, data_dir: Path) -> dict[str, Any]:",
             '    """One batch source per data node; splits and order are fixed by the seed."""',
             "    return {"]
    for node in graph.nodes.values():
        t = graph.type_of(node)
        if t.is_data:
            p = analysis.params[node.id]
            lines.append(f"        {literal(node.id)}: {t.emit_data(node.id, p)},")
    return lines + ["    }"]


def _make_groups(graph: Graph, model: ModelCode, analysis: Analysis) -> list[str]:
    calls = [line for g in graph.groups for line in group_call(graph, g, model, analysis)]
    if not calls:
        raise CompileError(None, "the graph has no optimiser group, so nothing would train")
    return ["def make_groups(model: Model) -> list[Group]:",
            '    """The optimiser groups, in file order: what each updates and minimises, when."""',
            "    return [", *calls, "    ]"]


def _accuracy(graph: Graph, model: ModelCode) -> dict[str, tuple[str, str]]:
    pairs = {}
    for node_id, n in model.nodes.items():
        if graph.type_of(graph.nodes[node_id]).accuracy:
            pairs[node_id] = (n.inputs["pred"], n.inputs["target"])
    return pairs


def _program(graph: Graph, model: ModelCode, analysis: Analysis) -> list[str]:
    t = analysis.valid.training
    losses = tuple(n for n in model.nodes if graph.type_of(graph.nodes[n]).is_loss)
    epochs, seed, spe, device = t["epochs"], t["seed"], t["steps_per_epoch"], t["device"]
    precision, compile_ = t.get("precision", "32"), t.get("compile", False)
    accuracy = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in _accuracy(graph, model).items())
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
        *(["    sync_batchnorm=True,"] if t.get("sync_batchnorm") else []),
        *_reused(model),
        *_weights(graph),
        *([f"    precision={literal(precision)},"] if precision != "32" else []),
        *(["    compile=True,"] if compile_ else []),
        ")",
    ]


def _weights(graph: Graph) -> list[str]:
    """The nodes that start from a state_dict file: (node, file, prefix, match)."""
    rows = [(n.id, n.weights["path"], n.weights["prefix"], n.weights["match"])
            for n in graph.nodes.values() if n.weights is not None]
    if not rows:
        return []
    return ["    pretrained=partial(load_weights, (  # node, file (from data_dir), prefix, match",
            *(f"        {literal(row)}," for row in rows), "    )),"]


def _reused(model: ModelCode) -> list[str]:
    """The outputs a later group of a step takes from an earlier group's forward."""
    if not model.reused:
        return []
    table = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in model.reused.items())
    return [f"    reused={{{table}}},  # output -> the groups whose update makes it stale"]


MAIN = [
    "def main(argv: list[str] | None = None) -> int:",
    '    """Trains the model as Model Composer does; `--help` lists the options."""',
    "    # Relative data paths start at --data-dir, by default this file's folder.",
    "    return command_line(PROGRAM, argv, script_dir=Path(__file__).resolve().parent)",
    "",
    "",
    'if __name__ == "__main__":',
    "    sys.exit(main())",
]


def program_source(graph: Graph) -> str:
    """The whole program for this graph: what export writes and what the application runs.

    It holds no path of this machine: relative data paths start where its caller says (the
    graph file's folder for `composer.train`, the script's own folder for an export).
    Raises CompileError naming the first node (or group) that cannot be compiled.
    """
    analysis = analysed(graph)
    model = model_code(graph, analysis)
    setup = _lines(_make_data(graph, analysis) + ["", ""] + _make_groups(graph, model, analysis))
    tail = _lines(_program(graph, model, analysis) + ["", ""] + MAIN)
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


def export_python(graph: Graph) -> str:
    """The standalone training script for this graph: the very program the application runs.

    It needs torch and numpy (scikit-learn for the built-in digits, Pillow for image folders),
    not this project, and reads relative data paths from its own folder unless told
    `--data-dir`.
    """
    return program_source(graph)


def data_paths(graph: Graph) -> list[str]:
    """The files and folders the graph's data nodes and pretrained weights read, as the file
    names them."""
    paths = [str(node.params["path"]) for node in graph.nodes.values()
             if graph.type_of(node).reads_files and "path" in node.params]
    return paths + [str(node.weights["path"]) for node in graph.nodes.values()
                    if node.weights is not None]


def data_note(graph: Graph, script: Path) -> str | None:
    """Where a script exported to `script` looks for the graph's data: None when it reads no
    file by a relative path."""
    relative = [p for p in data_paths(graph) if not Path(p).is_absolute()]
    if not relative:
        return None
    names = ", ".join(relative)
    here = Path(script).resolve().parent
    if here == Path(graph.base_dir).resolve():
        return f"it reads {names} from its own folder"
    them = "it" if len(relative) == 1 else "them"
    return (f"it reads {names} relative to its own folder ({here}): copy {them} there, or run "
            f"it with --data-dir {Path(graph.base_dir).resolve()}")
