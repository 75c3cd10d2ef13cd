"""How the generated forward marks each node's statement, shared by the code generator that
writes the mark and the runtime that reads it back to name the node an exception came from.

No torch here: the code generator imports it at start-up.
"""

from __future__ import annotations

NODE_GUARD = 'if "{node}" in need:'


def guarded_node(line: str) -> str | None:
    """The node id whose statement `line` guards, or None for any other line."""
    head, _, tail = NODE_GUARD.partition("{node}")
    text = line.strip()
    if not text.startswith(head):
        return None
    node, found, _ = text[len(head):].partition(tail)
    return node if found and node.isidentifier() else None
