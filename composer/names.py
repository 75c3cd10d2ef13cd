"""The one rule for fresh names: the wanted name if free, else `name_2`, `name_3`, ...

Node and group ids the editor hands out and the variables generated code uses follow it, so a
second `conv` is `conv_2` wherever it appears.
"""

from __future__ import annotations

from collections.abc import Callable


def fresh_name(wanted: str, taken: Callable[[str], bool]) -> str:
    """`wanted`, or the first of `wanted_2`, `wanted_3`, ... that `taken` refuses not."""
    if not taken(wanted):
        return wanted
    i = 2
    while taken(f"{wanted}_{i}"):
        i += 1
    return f"{wanted}_{i}"
