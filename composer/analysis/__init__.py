"""Analysing a graph: shape inference, every check, and whether a wire can be made."""
