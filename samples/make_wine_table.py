"""Writes wine.csv: scikit-learn's wine recognition data as a table for the data.csv sample.

178 wines from three cultivars, 13 chemical measurements each (alcohol, malic acid, ...,
proline), one row per wine; the `cultivar` column names the class as text (class_0, class_1,
class_2), which data.csv maps to ids 0, 1, 2. Run from anywhere:

    python samples/make_wine_table.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from sklearn.datasets import load_wine

OUT = Path(__file__).resolve().parent / "wine.csv"


def rows() -> tuple[list[str], list[list[str]]]:
    """The header and the rows as text: the measurements as scikit-learn holds them."""
    wine = load_wine()
    header = [*wine.feature_names, "cultivar"]
    body = [[f"{v:g}" for v in x] + [str(wine.target_names[y])]
            for x, y in zip(wine.data, wine.target, strict=True)]
    return header, body


def main() -> None:
    header, body = rows()
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(body)
    print(f"wrote {OUT.name}: {len(body)} rows, {len(header)} columns")


if __name__ == "__main__":
    main()
