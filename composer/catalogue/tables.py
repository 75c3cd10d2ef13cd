"""data.csv: a table file whose columns are the features and the target."""

from __future__ import annotations

from pathlib import Path

from composer.catalogue.base import DataOutput, NodeType, Port, Source, call, literal
from composer.catalogue.data import COMMON
from composer.params import Choice, Names, Text
from composer.runtime.table import TASKS

# batch_size, split and shuffle; augmentation is for images, not table rows
_BATCHING = tuple(p for p in COMMON if p.name != "augment")


def _outputs(p, base_dir: Path) -> dict[str, DataOutput]:
    from composer.catalogue.datafiles import peek_table

    return peek_table(base_dir / p["path"], p)


def _rows(p, base_dir: Path, headers: bool = True) -> tuple[int | None, list[str]]:
    from composer.catalogue.datafiles import count_table_rows

    return count_table_rows(base_dir / p["path"], p), []


def _emit(node_id: str, p) -> str:
    return call("table_batches", node_id, Source("seed"),
                Source(f"data_dir / {literal(p['path'])}"), target=p["target"],
                features=p["features"], task=p["task"], categorical=p["categorical"],
                batch_size=p["batch_size"], split=p["split"], shuffle=p["shuffle"])


TYPES = [
    NodeType(
        "data.csv", "data",
        "Rows of a CSV table: feature columns as x, the target column as y.",
        outputs=(Port("x", "vector", doc="features [B,F], categorical columns one-hot"),
                 Port("y", "tensor", doc="class ids [B] (classification) or numbers [B,1]")),
        params=(Text("path", "table.csv", "CSV file with a header row, relative to the graph "
                     "file"),
                Text("target", "target", "the column to predict"),
                Names("features", None, "the input columns; empty (null): every column but "
                      "the target", optional=True),
                Choice("task", "classification", "classification: y holds class ids, one per "
                       "distinct value (sorted as text); regression: y holds the numbers",
                       choices=TASKS),
                Names("categorical", [], "feature columns of categories, one-hot encoded "
                      "(their values sorted as text, over the whole file)")) + _BATCHING,
        data=_outputs, key_params=("path", "target"), emit_data=_emit, samples=_rows,
        keywords=("table", "tabular", "spreadsheet", "dataframe"),
    ),
]
