"""Render the vignettes into self-contained HTML pages.

    .venv/bin/python vignettes/render.py [--fast] [--out DIR] [NAME ...]

Python vignettes are jupytext percent scripts (``vignettes/<name>.py``): each is read with
jupytext, executed by nbclient in this virtual environment's ``python3`` kernel (working
directory ``vignettes/``) and exported with nbconvert's ``basic`` template inside a page of our
own (style sheet inline, images as data URIs, no scripts, nothing fetched from the network). R
vignettes (``vignettes/<name>.Rmd``) are rendered by ``rmarkdown::render`` with pandoc,
self-contained, without MathJax and with its scripts removed (the page is static), with the
survbridge package installed into ``.venv/Rlib`` (as ``scripts/test_r.sh`` does). A cell that
raises stops the render with the cell's error.

``--fast`` (or ``DOCS_FAST=1``) sets ``DOCS_FAST=1`` for the vignettes, which then use fewer
seeds and epochs and say so on the page. Each page gets a line under its title with its run
time and mode; ``DIR/index.html`` and ``DIR/index.json`` list the pages with their run times.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: name -> (title, the question it answers); the order of the README's table
VIGNETTES: dict[str, tuple[str, str]] = {
    "recurrent-bladder": ("Recurrent bladder tumours: classical and LSTM-Cox models",
                          "How do Andersen-Gill, WLW, PWP and LSTM-Cox compare on bladder1, and why is "
                          "the LSTM-Cox paper's C of 0.90 not reproducible on held-out subjects?"),
    "nnet-survival": ("Nnet-survival: the paper's checks and SUPPORT",
                      "Does the discrete-time network reproduce the paper's calibration and "
                      "discrimination checks, and how does it do on SUPPORT?"),
    "coxvae": ("CoxVAE: a latent space with a Cox head",
               "How does the weight tau between reconstruction and the Cox term change "
               "discrimination and the latent space?"),
    "mensa-multi-event": ("Recurrence and death on Rotterdam: MENSA against Cox models",
                          "Does MENSA beat per-event DeepSurv and the multi-state Cox model on two "
                          "dependent events, and by which measure?"),
    "simulation-study": ("Simulating recurrent events and checking the classical estimators",
                         "Do the native and reda simulators agree, and do AG, PWP and WLW keep "
                         "their coverage under frailty and dependent censoring?"),
    "from-r": ("From R: the same bladder comparison with the survbridge package",
               "Can an R user run the comparison, save a neural model with saveRDS and get "
               "tidy() output without leaving R?"),
}

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1f2328; }
h1 { font-size: 1.9rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
h2 { font-size: 1.4rem; margin-top: 2rem; border-bottom: 1px solid #eaeef2; }
.run-info { color: #57606a; font-size: .9rem; margin: -.5rem 0 1.5rem; }
.jp-InputArea, .input_area, div.highlight { background: #f6f8fa; border-radius: 6px; }
pre { padding: .6rem .8rem; overflow-x: auto; font-size: .85rem; margin: .4rem 0; }
.jp-OutputArea-output pre, .output_text pre { background: #fff; border-left: 3px solid #d0d7de; }
.jp-InputPrompt, .jp-OutputPrompt, .prompt { display: none; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .85rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: right; }
th { background: #f6f8fa; }
img { max-width: 100%; }
code { background: #f6f8fa; padding: 0 .2rem; border-radius: 3px; }
"""


def _page(title: str, body: str, css: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{css}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _run_info(seconds: float, fast: bool, source: str | None = None) -> str:
    mode = ("fast mode (DOCS_FAST=1): fewer seeds and epochs than the full run, so the numbers "
            "are rougher than in the full render") if fast else "full mode (make docs)"
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rerun = (f" Source: <code>vignettes/{source}</code>; rerun with <code>.venv/bin/python vignettes/render.py "
             f"{Path(source).stem}</code>.") if source else ""
    return (f'<p class="run-info">Rendered {when}; run time {seconds:.0f} s on '
            f'{os.cpu_count()} CPU cores; {mode}.{rerun}</p>')


def _insert_after_title(page: str, snippet: str) -> str:
    at = page.find("</h1>")
    if at < 0:
        raise RuntimeError("the vignette has no level-1 title (a '# Title' line in its first cell)")
    at += len("</h1>")
    return page[:at] + "\n" + snippet + page[at:]


def render_python(src: Path, out: Path, fast: bool, timeout: int) -> float:
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from pygments.formatters import HtmlFormatter

    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    seconds = time.perf_counter() - t0
    nbformat.write(nb, out.with_suffix(".ipynb"))
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_anchor_links = True
    body, _ = exporter.from_notebook_node(nb)
    css = CSS + HtmlFormatter(style="default").get_style_defs(".highlight")
    page = _page(VIGNETTES.get(src.stem, (src.stem, ""))[0], body, css)
    out.write_text(_insert_after_title(page, _run_info(seconds, fast, src.name)))
    return seconds


def render_r(src: Path, out: Path, fast: bool, timeout: int) -> float:
    lib = ROOT / ".venv" / "Rlib"
    lib.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "R_LIBS": str(lib), "SURVBRIDGE_PYTHON": sys.executable}
    log = lib / "install.log"
    with open(log, "w") as fh:
        done = subprocess.run(["R", "CMD", "INSTALL", "--no-test-load", f"--library={lib}", str(ROOT / "r")],
                              env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise RuntimeError(f"R CMD INSTALL r failed (see {log}):\n{log.read_text()[-3000:]}")
    code = ("rmarkdown::render(commandArgs(TRUE)[1], output_file = commandArgs(TRUE)[2], "
            "output_dir = commandArgs(TRUE)[3], intermediates_dir = tempdir(), quiet = TRUE, "
            "output_format = rmarkdown::html_document(self_contained = TRUE, mathjax = NULL, "
            "toc = TRUE, df_print = 'kable'))")
    t0 = time.perf_counter()
    done = subprocess.run(["Rscript", "-e", code, str(src), out.name, str(out.parent)], cwd=HERE, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"rmarkdown::render({src.name}) failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    page = _strip_scripts(out.read_text())
    out.write_text(_insert_after_title(page, _run_info(seconds, fast, src.name)))
    return seconds


def _strip_scripts(page: str) -> str:
    """Drop rmarkdown's embedded scripts (jQuery, bootstrap, pandoc's fix-ups): the pages are
    static, and the vignette test requires that nothing on them runs. Its style sheets stay."""
    return re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.S | re.I)


def _index(rows: list[dict], fast: bool) -> str:
    items = "\n".join(
        f'<tr><td style="text-align:left"><a href="{r["name"]}.html">{html.escape(r["title"])}</a></td>'
        f'<td style="text-align:left">{html.escape(r["question"])}</td><td>{r["seconds"]:.0f} s</td></tr>'
        for r in rows)
    body = (f"<h1>pysurvbridge vignettes</h1>\n{_run_info(sum(r['seconds'] for r in rows), fast)}\n"
            "<table><thead><tr><th>vignette</th><th>question</th><th>run time</th></tr></thead>"
            f"<tbody>\n{items}\n</tbody></table>")
    return _page("pysurvbridge vignettes", body, CSS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"vignettes to render (default all: {', '.join(VIGNETTES)})")
    ap.add_argument("--fast", action="store_true", help="fewer seeds and epochs (sets DOCS_FAST=1)")
    ap.add_argument("--out", default=str(HERE / "_build"), help="output folder (default vignettes/_build)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell (Python) or per page (R)")
    a = ap.parse_args(argv)
    fast = a.fast or os.environ.get("DOCS_FAST") == "1"
    os.environ["DOCS_FAST"] = "1" if fast else "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    unknown = [n for n in a.names if n not in VIGNETTES and not (HERE / f"{n}.py").exists()]
    if unknown:
        ap.error(f"unknown vignettes {unknown}; known: {list(VIGNETTES)}")
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, total = [], time.perf_counter()
    for name in a.names or list(VIGNETTES):
        py, rmd = HERE / f"{name}.py", HERE / f"{name}.Rmd"
        src = py if py.exists() else rmd
        if not src.exists():
            raise FileNotFoundError(f"vignette {name!r} has no source: neither {py} nor {rmd}")
        print(f"[docs] {name} ({'fast' if fast else 'full'}) ...", flush=True)
        out = out_dir / f"{name}.html"
        seconds = (render_python if src.suffix == ".py" else render_r)(src, out, fast, a.timeout)
        print(f"[docs] {name}: {seconds:.0f} s -> {out}", flush=True)
        title, question = VIGNETTES.get(name, (name, ""))
        rows.append({"name": name, "title": title, "question": question, "seconds": seconds,
                     "source": src.name, "fast": fast})
    index = out_dir / "index.json"
    if index.exists():  # keep the rows of pages not rendered this time
        done = {r["name"] for r in rows}
        rows += [r for r in json.loads(index.read_text()) if r["name"] not in done]
    order = list(VIGNETTES)
    rows.sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    index.write_text(json.dumps(rows, indent=2))
    (out_dir / "index.html").write_text(_index(rows, fast))
    print(f"[docs] {len(rows)} page(s) in {time.perf_counter() - total:.0f} s -> {out_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
