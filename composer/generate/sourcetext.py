"""Layout of generated source: long lines wrapped at their outermost brackets, and import
blocks sorted the way isort (and ruff) order them, so exported files lint clean."""

from __future__ import annotations

import io
import sys
import tokenize
from dataclasses import dataclass

WIDTH = 100
_OPEN = {"(": ")", "[": "]", "{": "}"}


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """`line` as one or more lines of at most `width` characters where it can be split.

    The first bracket of the line opens; its arguments go on continuation lines indented four
    more, packed greedily, and the closing bracket ends the last one. Arguments still too long
    are wrapped the same way.
    """
    if len(line) <= width:
        return [line]
    indent = line[:len(line) - len(line.lstrip())]
    text = line.strip()
    span = _first_brackets(text)
    if span is None:
        return [line]
    start, end, commas = span
    head, tail = text[:start + 1], text[end:]
    cuts = [start + 1, *[c + 1 for c in commas], end]
    args = [text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)]
    args = [a for a in args if a]
    inner = indent + "    "
    lines = [indent + head]
    current = ""
    for i, arg in enumerate(args):
        last = i == len(args) - 1
        piece = arg + (tail if last else ("," if not arg.endswith(",") else ""))
        candidate = f"{current} {piece}" if current else piece
        if current and len(inner) + len(candidate) > width:
            lines.append(inner + current)
            candidate = piece
        current = candidate
    lines.append(inner + current)
    return [out for ln in lines for out in wrap(ln, width)] if len(lines) > 1 else [line]


def _first_brackets(text: str) -> tuple[int, int, list[int]] | None:
    """(offset of the first opening bracket, of its closing one, of the commas between at its
    own depth), found with the tokenizer so brackets and commas inside strings don't count."""
    depth, start, commas = 0, None, []
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    while True:
        try:  # lazily: a bracket closed on a later line only fails past what we need
            tok = next(tokens)
        except (StopIteration, tokenize.TokenError, SyntaxError):
            return None
        if tok.type != tokenize.OP:
            continue
        col = tok.start[1]
        if tok.string in _OPEN:
            depth += 1
            if start is None:
                start = col
        elif tok.string in _OPEN.values():
            depth -= 1
            if start is not None and depth == 0:
                return start, col, commas
        elif tok.string == "," and depth == 1 and start is not None:
            commas.append(col)


@dataclass(frozen=True, order=True)
class Import:
    """One imported name: `import module [as name]` or `from module import name [as alias]`."""

    module: str
    name: str | None = None  # None: a straight `import module`
    alias: str | None = None

    @property
    def bound(self) -> str:
        """The name the import binds in the file."""
        if self.alias:
            return self.alias
        return self.name if self.name else self.module.split(".")[0]


def _member_key(imp: Import) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then everything else."""
    name = imp.name or ""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name


def import_block(imports: set[Import]) -> str:
    """Import statements in sections (__future__, standard library, third party), each with
    straight imports first, then from-imports by module, as isort lays them out."""
    sections: dict[int, list[Import]] = {0: [], 1: [], 2: []}
    for imp in imports:
        root = imp.module.split(".")[0]
        sections[0 if root == "__future__" else 1 if root in sys.stdlib_module_names else 2] \
            .append(imp)
    blocks = []
    for members in sections.values():
        if not members:
            continue
        straight = sorted({m for m in members if m.name is None}, key=lambda m: m.module)
        lines = [f"import {m.module}" + (f" as {m.alias}" if m.alias else "") for m in straight]
        modules = sorted({m.module for m in members if m.name is not None})
        for module in modules:
            names = sorted((m for m in members if m.module == module and m.name),
                           key=_member_key)
            parts = [m.name + (f" as {m.alias}" if m.alias else "") for m in names]
            single = f"from {module} import {', '.join(parts)}"
            if len(single) <= WIDTH:
                lines.append(single)
            else:  # one name a line, with a trailing comma
                lines += [f"from {module} import (", *[f"    {p}," for p in parts], ")"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

