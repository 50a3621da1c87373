"""Export SurvSet's SUPPORT data (support2) to the CSV copy shipped inside pysurvbridge.

Run from the repository root with SurvSet installed, or give the path of a SurvSet wheel
(``pip download --no-deps SurvSet`` fetches it; nothing is installed):
    .venv/bin/python scripts/export_support.py [path/to/survset-0.2.11-py3-none-any.whl]
It writes pysurvbridge/data/csv/support.csv and adds the ``support`` entry (column kinds, factor
levels) to schema.json, keeping the R data sets' entries, so that load_support(source="csv")
rebuilds SurvSet's frame exactly. It then reads the copy back and checks that it is identical.
"""
from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd

from pysurvbridge.data import datasets

OUT = Path(__file__).resolve().parents[1] / "pysurvbridge" / "data" / "csv"


def _survset_version(wheel: str | None) -> str:
    if wheel is not None:
        return Path(wheel).name.split("-")[1]  # survset-<version>-py3-none-any.whl
    return metadata.version("SurvSet")


def main(wheel: str | None = None) -> None:
    df = datasets._support_from_survset(wheel)
    schema_path = OUT / "schema.json"
    schema = json.loads(schema_path.read_text())
    schema["datasets"]["support"] = [datasets.schema_entry(df[col]) for col in df.columns]
    schema.setdefault("sources", {})["support"] = {
        "package": "SurvSet", "version": _survset_version(wheel), "object": "support2",
    }
    df.to_csv(OUT / "support.csv", index=False, na_rep="NA")
    schema_path.write_text(json.dumps(schema, indent=1) + "\n")
    datasets._schema.cache_clear()
    pd.testing.assert_frame_equal(datasets.load_support(source="csv"), df, check_exact=True)
    size = (OUT / "support.csv").stat().st_size
    print(f"wrote support.csv: {df.shape}, {size / 1e6:.2f} MB; read back identical")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
