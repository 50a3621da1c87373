"""Where the cells of a comparison run: in this process, in k worker processes, or on a Dask
cluster; each cell optionally in a child process of its own, so that a crash or a timeout
stays in that cell.

- ``n_jobs=1, isolate="none"`` (the default for one job): cells run here, one after another.
- ``n_jobs=k`` with ``isolate="process"`` (the default for several jobs): up to k cells at a
  time, each in a child forked from a server process that has already imported torch and the
  package (``multiprocessing``'s forkserver: starting a cell costs milliseconds, and no child
  inherits a started R or a torch thread pool). A child that dies ("worker died: signal 11
  (SIGSEGV)") or runs past ``timeout`` ("timed out after 600 s") becomes a failed row.
- ``n_jobs=k, isolate="none"``: joblib's loky workers, reused across cells (each starts its
  own embedded R once); a crash then stops the comparison.
- ``backend="dask"``: each cell is a task on the caller's active ``distributed.Client``; the
  plan (data, splits, models) is scattered to every worker once, a record comes back per
  cell. With isolation each task runs its cell in a child process (a fresh interpreter on
  daemonic workers, which may not fork).

Threads: each process running cells sets torch to max(1, cores // concurrent cells) threads,
so k workers do not oversubscribe the cores. Results do not depend on where a cell ran: every
cell's split and seed are functions of the arguments, and the tables equal the serial ones
(tests/reliability).

Everything a worker sends back is a record (:mod:`pysurvbridge.comparison.records`); the
fitted models stay in the workers (the store keeps the last seed's, saved).
"""
from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

from pysurvbridge.comparison.runner import Cell, CellResult, run_cell
from pysurvbridge.errors import InvalidParameterError, OptionalDependencyError, SurvBridgeError

__all__ = ["Execution", "resolve_execution", "work", "run_isolated_cell", "failed_record", "warm_up"]

BACKENDS = ("local", "dask")
ISOLATION = ("process", "none")
#: modules the fork server imports once, so forked cells start without importing them again
PRELOAD = ["pysurvbridge.comparison.preload", "pysurvbridge.comparison.execution"]


@dataclass(frozen=True)
class Execution:
    """Where cells run (see the module docstring)."""

    n_jobs: int = 1
    backend: str = "local"
    isolate: str = "none"
    timeout: float | None = None

    @property
    def threads(self) -> int:
        """torch threads per process running cells."""
        return max(1, (os.cpu_count() or 1) // max(1, self.n_jobs))

    @property
    def in_process(self) -> bool:
        return self.backend == "local" and self.n_jobs == 1 and self.isolate == "none"


def resolve_execution(n_jobs: Any, backend: str, isolate: str | None, timeout: Any) -> Execution:
    """Check the arguments and fill in the defaults: isolation for several jobs, for Dask and
    whenever a timeout is asked (stopping a cell needs its own process)."""
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise InvalidParameterError(f"n_jobs must be a positive integer (or -1: every core), but was {n_jobs!r}")
    if backend not in BACKENDS:
        raise InvalidParameterError(f"backend must be one of {list(BACKENDS)}, but was {backend!r}")
    if isolate is not None and isolate not in ISOLATION:
        raise InvalidParameterError(f"isolate must be one of {list(ISOLATION)} or None, but was {isolate!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
                                    and timeout > 0):
        raise InvalidParameterError(f"timeout must be a positive number of seconds or None, but was {timeout!r}")
    if timeout is not None and isolate == "none":
        raise InvalidParameterError("timeout needs each cell in a process of its own (isolate='process'): a cell "
                                    "running in this process cannot be stopped safely")
    if isolate is None:
        isolate = "process" if (n_jobs > 1 or backend == "dask" or timeout is not None) else "none"
    return Execution(n_jobs, backend, isolate, None if timeout is None else float(timeout))


# ---------------------------------------------------------------------- one cell, wherever it runs
_PLANS: dict[str, Any] = {}  # per process: the plan of each comparison, unpickled once


def _plan(plan_blob: bytes) -> Any:
    import hashlib

    key = hashlib.sha256(plan_blob).hexdigest()
    if key not in _PLANS:
        _PLANS.clear()
        _PLANS[key] = pickle.loads(plan_blob)
    return _PLANS[key]


_SPLITS: dict[tuple[int, int], Any] = {}  # per process: (plan, seed) -> split, made once


def _split(plan: Any, seed: int) -> Any:
    key = (id(plan), seed)
    if key not in _SPLITS:
        if len(_SPLITS) > 16:
            _SPLITS.clear()
        _SPLITS[key] = plan.split(seed)
    return _SPLITS[key]


def work(plan_blob: bytes, cell_blob: bytes, options: dict) -> dict:
    """Run one cell and return its record (written to the store first when there is one).
    ``options``: "threads", and "store" (the store's root and parts, the cell's key parts,
    whether to save its fitted model) or None."""
    import torch

    torch.set_num_threads(int(options.get("threads", 1)))
    plan, cell = _plan(plan_blob), pickle.loads(cell_blob)
    result = run_cell(plan, cell, _split(plan, cell.seed))
    return finish(result, options.get("store"))


def finish(result: CellResult, store_options: dict | None) -> dict:
    """The record of a finished cell, saved in the store (its fitted model too when asked)."""
    from pysurvbridge.comparison.records import record_of

    if store_options is None:
        return record_of(result)
    from pysurvbridge.comparison.store import ResultStore

    store = ResultStore(store_options["root"], store_options["parts"])
    name, seed, parts = result.cell.spec.name, result.cell.seed, store_options["cell_parts"]
    model_dir = None
    if store_options.get("save_model") and result.run is not None and result.run.fitted is not None:
        try:
            model_dir = store.save_model(name, seed, parts, result.run.fitted)
        except Exception as exc:  # the record still counts; the model is a convenience
            result.notes.append(f"store: the fitted {name} (seed {seed}) could not be saved: {type(exc).__name__}: {exc}")
    record = record_of(result, model_dir=model_dir)
    store.save(name, seed, parts, record)
    return record


def label_of(cell: Cell) -> dict:
    """What a failed row needs of its cell (so a parent never unpickles a cell, which would
    import the model's code there)."""
    return {"model": cell.spec.name, "family": cell.spec.family, "seed": int(cell.seed)}


def failed_record(label: dict, reason: str) -> dict:
    """The record of a cell whose process died or timed out (never stored: a rerun retries it);
    ``label`` from ``label_of``."""
    from pysurvbridge.comparison.records import checksum

    payload = {"format": 1, "model": label["model"], "seed": label["seed"],
               "row": {**label, "error": reason}, "notes": [], "predictions": None, "tuning": None,
               "model_dir": None}
    return {"payload": payload, "checksum": checksum(payload), "transient": True}


# ---------------------------------------------------------------------- cells in child processes
def _worker(conn, plan_blob: bytes) -> None:
    """A child's loop: a cell in, its record out, until the parent closes the pipe."""
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        cell_blob, options = pickle.loads(message)
        try:
            record = work(plan_blob, cell_blob, options)
        except BaseException as exc:  # the cell's own errors are rows already; this is the machinery failing
            record = {"machinery_error": f"{type(exc).__name__}: {exc}"}
        conn.send_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))


@contextlib.contextmanager
def _main_module_hidden():
    """Start processes without them re-running the caller's script. ``multiprocessing`` sends
    the path of ``__main__`` to the fork server and to each child, which import it again (a
    script without an ``if __name__ == "__main__"`` guard would start its comparison again);
    the cells need nothing from ``__main__`` (cloudpickle carries functions defined there by
    value), so its ``__file__`` and ``__spec__`` are hidden while a process starts."""
    main = sys.modules.get("__main__")
    saved = {a: getattr(main, a) for a in ("__file__", "__spec__") if main is not None and hasattr(main, a)}
    try:
        for attribute in saved:
            if attribute == "__file__":
                delattr(main, attribute)
            else:
                setattr(main, attribute, None)
        yield
    finally:
        for attribute, value in saved.items():
            setattr(main, attribute, value)


@contextlib.contextmanager
def _children_allowed():
    """Let a daemonic process (a Dask worker, by default) start the fork server and its
    children. ``multiprocessing`` refuses because a daemon's children are orphaned when it is
    stopped; here they are not: each child exits when its pipe to the worker closes, and the
    fork server when the worker's end of its pipe does."""
    import multiprocessing

    config = multiprocessing.current_process()._config  # noqa: SLF001  (the documented flag is read-only)
    daemon = config.get("daemon", False)
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemon


def _context():
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm_up(execution: Execution) -> None:
    """Start the fork server now (it imports torch and the package, loads the numba kernels
    and starts R: seconds, once per session), so that it gets ready while this process plans
    the cells; nothing to do otherwise."""
    if execution.backend == "local" and execution.isolate == "process":
        from multiprocessing import forkserver

        _context()
        with _main_module_hidden(), _children_allowed():
            forkserver.ensure_running()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"worker died: signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"worker died: signal {-exitcode}"
    return f"worker died: exit code {exitcode} before returning its cell"


def _checked(record: dict, label: dict) -> dict:
    if "machinery_error" in record:
        return failed_record(label, f"worker failed: {record['machinery_error']}")
    return record


class _Busy:
    def __init__(self, index: int, label: dict) -> None:
        self.index, self.label, self.started = index, label, time.monotonic()


class Workers:
    """Up to ``slots`` child processes forked from the preloaded fork server, each running one
    cell at a time and kept for the next cell (so a cell's process is already warm). A child
    that dies or runs past ``timeout`` takes only its current cell with it: that cell becomes a
    failed row and a fresh child takes the next one."""

    def __init__(self, plan_blob: bytes, timeout: float | None, slots: int) -> None:
        self.plan_blob, self.timeout, self.slots = plan_blob, timeout, slots
        self.children: list[list] = []  # [process, connection, _Busy or None]

    @property
    def running(self) -> int:
        return sum(child[2] is not None for child in self.children)

    @property
    def free(self) -> bool:
        return self.running < self.slots

    def start(self, index: int, cell_blob: bytes, options: dict) -> None:
        """Send a cell to an idle child (a new one when none is idle)."""
        idle = [child for child in self.children if child[2] is None]
        if idle:
            child = idle[0]
        else:
            ctx = _context()
            here, there = ctx.Pipe(duplex=True)
            process = ctx.Process(target=_worker, args=(there, self.plan_blob), daemon=True)
            with _main_module_hidden(), _children_allowed():
                process.start()
            there.close()
            child = [process, here, None]
            self.children.append(child)
        child[2] = _Busy(index, options["label"])
        try:
            child[1].send_bytes(pickle.dumps((cell_blob, options), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # died while idle: poll() reports the cell as failed
            pass

    def poll(self, wait: float = 0.2) -> list[tuple[int, dict]]:
        """(index, record) of the cells that finished, died or timed out since the last poll."""
        from multiprocessing.connection import wait as wait_for

        busy = [child for child in self.children if child[2] is not None]
        if busy:
            wait_for([c[1] for c in busy] + [c[0].sentinel for c in busy], timeout=wait)
        done = []
        for child in busy:
            process, conn, task = child
            record = None
            try:
                if conn.poll():
                    record = _checked(pickle.loads(conn.recv_bytes()), task.label)
            except (EOFError, OSError):  # died while sending
                record = None
            if record is not None:
                child[2] = None
            elif not process.is_alive():
                process.join()
                record = failed_record(task.label, _death(process.exitcode))
                self._drop(child)
            elif self.timeout is not None and time.monotonic() - task.started > self.timeout:
                process.kill()
                process.join()
                record = failed_record(task.label, f"timed out after {self.timeout:g} s")
                self._drop(child)
            if record is not None:
                done.append((task.index, record))
        return done

    def _drop(self, child: list) -> None:
        child[1].close()
        self.children.remove(child)

    def close(self) -> None:
        """Stop every child (idle ones finish at once; busy ones are killed)."""
        for process, conn, task in self.children:
            if task is not None:
                process.kill()
            conn.close()
        for process, _, _ in self.children:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self.children = []


_DASK_WORKERS: dict[tuple[int, str], Workers] = {}  # a Dask worker process: one child per thread


def run_isolated_cell(plan_blob: bytes, cell_blob: bytes, options: dict, timeout: float | None) -> dict:
    """One cell in a child of this process (a Dask task's way of isolating its cell); the child
    is kept for this thread's next cell of the same plan. A record, or a failed one when the
    child dies or runs past ``timeout``."""
    import hashlib
    import threading

    key = (threading.get_ident(), hashlib.sha256(plan_blob).hexdigest())
    workers = _DASK_WORKERS.get(key)
    if workers is None or workers.timeout != timeout:
        for old_key in [k for k in _DASK_WORKERS if k[0] == key[0]]:
            _DASK_WORKERS.pop(old_key).close()
        workers = _DASK_WORKERS[key] = Workers(plan_blob, timeout, slots=1)
    workers.start(0, cell_blob, options)
    while True:
        finished = workers.poll()
        if finished:
            return finished[0][1]


# ---------------------------------------------------------------------- the cells of a comparison
def run_remote(plan: Any, cells: Sequence[Cell], options: Sequence[dict], execution: Execution, bar) -> list[dict]:
    """The records of ``cells`` (in their order), run as ``execution`` says; ``options`` per
    cell as :func:`work` takes them."""
    import cloudpickle

    plan_blob = cloudpickle.dumps(plan)
    blobs = [cloudpickle.dumps(c) for c in cells]
    opts = [{**o, "threads": execution.threads, "label": label_of(c)} for o, c in zip(options, cells)]
    if execution.backend == "dask":
        return _run_dask(plan_blob, blobs, opts, execution, bar)
    if execution.isolate == "process":
        return _run_children(plan_blob, blobs, opts, execution, bar)
    return _run_loky(plan_blob, blobs, opts, execution, bar)


def _run_children(plan_blob: bytes, blobs: list[bytes], options: list[dict], execution: Execution, bar) -> list[dict]:
    records: list[dict | None] = [None] * len(blobs)
    workers = Workers(plan_blob, execution.timeout, slots=execution.n_jobs)
    queue = list(range(len(blobs)))
    try:
        while queue or workers.running:
            while queue and workers.free:
                i = queue.pop(0)
                workers.start(i, blobs[i], options[i])
            for i, record in workers.poll():
                records[i] = record
                bar.update(1)
    finally:
        workers.close()
    return records


def _run_loky(plan_blob: bytes, blobs: list[bytes], options: list[dict], execution: Execution, bar) -> list[dict]:
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    records: list[dict | None] = [None] * len(blobs)
    jobs = Parallel(n_jobs=execution.n_jobs, backend="loky", return_as="generator_unordered")
    try:
        for i, record in jobs(delayed(_indexed_work)(i, plan_blob, b, o) for i, (b, o) in enumerate(zip(blobs, options))):
            records[i] = record
            bar.update(1)
    except TerminatedWorkerError as exc:
        raise SurvBridgeError(f"a worker process died while running a cell ({str(exc).splitlines()[0]}); with "
                              "isolate='process' (the default for n_jobs > 1) such a cell becomes a failed row and "
                              "the others go on") from None
    return records


def _indexed_work(index: int, plan_blob: bytes, cell_blob: bytes, options: dict) -> tuple[int, dict]:
    return index, work(plan_blob, cell_blob, options)


def _dask_task(plan_blob: bytes, cell_blob: bytes, options: dict, isolate: str, timeout: float | None,
               threads_per_host: dict) -> dict:
    from distributed import get_worker

    host = get_worker().address.rsplit(":", 1)[0].split("://")[-1]
    options = {**options, "threads": max(1, (os.cpu_count() or 1) // max(1, threads_per_host.get(host, 1)))}
    if isolate == "process":
        return run_isolated_cell(plan_blob, cell_blob, options, timeout)
    return work(plan_blob, cell_blob, options)


def _run_dask(plan_blob: bytes, blobs: list[bytes], options: list[dict], execution: Execution, bar) -> list[dict]:
    try:
        from distributed import as_completed, get_client
    except ImportError:
        raise OptionalDependencyError("backend='dask' needs dask and distributed, which the dask extra installs: "
                                      'pip install "pysurvbridge[dask]"') from None
    try:
        client = get_client()
    except ValueError:
        raise InvalidParameterError(
            "backend='dask' runs the cells on the active Dask client, and there is none: start one first, e.g. "
            "`from distributed import Client; with Client('tcp://scheduler:8786'): compare(..., backend='dask')`, "
            "or Client(LocalCluster(n_workers=2, threads_per_worker=1)) on this machine") from None
    threads_per_host: dict[str, int] = {}  # Dask threads on each machine: torch threads = its cores // them
    for worker in client.scheduler_info(n_workers=-1)["workers"].values():
        threads_per_host[worker["host"]] = threads_per_host.get(worker["host"], 0) + int(worker["nthreads"])
    plan_future = client.scatter(plan_blob, broadcast=True)  # the data once per worker
    futures = {client.submit(_dask_task, plan_future, b, o, execution.isolate, execution.timeout, threads_per_host,
                             pure=False): i
               for i, (b, o) in enumerate(zip(blobs, options))}
    records: list[dict | None] = [None] * len(blobs)
    for future in as_completed(futures):
        records[futures[future]] = future.result()
        bar.update(1)
    return records
