"""The statement that starts a node's weights as its `init` param says (composer/runtime/init.py).

It follows the statement building the module, so the constructor line reads as torch's and a
node left at torch's default gets no statement at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from composer.catalogue.base import Source, call


def init_helper(params: Mapping[str, Any]) -> str | None:
    """The runtime function a node's `init` calls; None for torch's default (or no init)."""
    init = params.get("init")
    if not isinstance(init, Mapping) or init.get("type", "default") == "default":
        return None
    return f"init_{init['type']}"


def init_statement(params: Mapping[str, Any], module: str) -> str | None:
    """`init_normal(self.c1, mean=0.0, std=0.02)` for validated params, or None."""
    helper = init_helper(params)
    if helper is None:
        return None
    args = {k: v for k, v in params["init"].items() if k != "type"}
    return call(helper, Source(module), **args)
