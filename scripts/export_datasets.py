"""Export the survival package's data sets to the CSV copies shipped inside pysurvbridge.

Run from the repository root with R, rpy2 and survival installed:
    .venv/bin/python scripts/export_datasets.py
It writes pysurvbridge/data/csv/<name>.csv and schema.json (column kinds, factor levels and
the survival version), which load_*(source="csv") uses to rebuild the exact R frames.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pysurvbridge import rbridge
from pysurvbridge.data.datasets import R_DATASETS, column_kind

OUT = Path(__file__).resolve().parents[1] / "pysurvbridge" / "data" / "csv"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    schema = {"survival_version": rbridge.package_version("survival"),
              "r_version": rbridge.r_version(), "datasets": {}}
    for name in R_DATASETS:
        df = rbridge.load_r_dataset(name, "survival")
        cols = []
        for col in df.columns:
            kind = column_kind(df[col])
            entry = {"name": col, "kind": kind}
            if kind == "factor":
                entry["levels"] = [str(x) for x in df[col].cat.categories]
                entry["ordered"] = bool(df[col].cat.ordered)
            cols.append(entry)
        schema["datasets"][name] = cols
        out = df.copy()
        for col in df.columns:
            if column_kind(df[col]) == "date":
                out[col] = df[col].dt.strftime("%Y-%m-%d")
        out.to_csv(OUT / f"{name}.csv", index=False, na_rep="NA")
        print(f"wrote {name}.csv: {df.shape}")
    (OUT / "schema.json").write_text(json.dumps(schema, indent=1) + "\n")


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
