"""The ``odeprop`` command line: headless runs on the same engine as the desktop lab.

``odeprop`` with no subcommand (or a CONFIG.toml, or ``--screenshot``) opens the lab; the GUI is
imported by name only then, so this module stays free of Qt.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import lesson_cli
from .config import Experiment, apply_settings
from .methods import METHODS
from .pace import Pacer
from .presets import (
    comparison_names,
    load_comparison,
    load_preset,
    load_sweep,
    preset_names,
    sweep_names,
)

SUBCOMMANDS = ("run", "compare", "sweep", "presets", "methods", "lessons", "lesson")


class CliError(Exception):
    """Bad input on the command line: printed as one line, exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl+C is: the run stops, what it has is written, temporary files
    go; then one line and exit code 143."""


def _on_sigterm(signum, frame):
    raise Terminated


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line instead of usage + error
        raise CliError(message)


def apply_overrides(experiment: Experiment, overrides: list[str]) -> Experiment:
    """``section.key=value`` settings on top of a loaded experiment (values parsed as TOML)."""
    try:
        return apply_settings(experiment, overrides)
    except ValueError as exc:
        if "write SECTION.KEY=VALUE" in str(exc):
            raise ValueError(f"--set {exc}") from None
        raise


def _parser() -> _Parser:
    parser = _Parser(prog="odeprop", description="Train a network by integrating its gradient "
                     "flow with real ODE solvers.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="integrate one experiment headless")
    source = run.add_mutually_exclusive_group()
    source.add_argument("config", nargs="?", help="experiment TOML file")
    source.add_argument("--preset", help="a shipped experiment (see `odeprop presets`)")
    run.add_argument("--out", help="folder for snapshots.csv, summary.json, experiment.toml")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="SECTION.KEY=VALUE", help="override a setting, e.g. solver.rtol=1e-2")
    run.add_argument("--quiet", action="store_true", help="no progress line")
    run.add_argument("--pace", type=float, metavar="SECONDS",
                     help="spread the run over about this many seconds, for watching it; the "
                     "trajectory, counts and solver times stay those of the unpaced run")
    compare = sub.add_parser("compare", help="run several solvers side by side, in parallel")
    source = compare.add_mutually_exclusive_group()
    source.add_argument("config", nargs="?", help="comparison TOML file (with [[runs]])")
    source.add_argument("--preset", help="a shipped comparison (see `odeprop presets`)")
    compare.add_argument("--out", help="folder for summary.md, summary.csv and one CSV per run")
    compare.add_argument("--parallel", type=int, default=None,
                         help="runs at once (default: the number of cores)")
    compare.add_argument("--quiet", action="store_true", help="no progress lines")
    sweep = sub.add_parser("sweep", help="run a grid of seeds × methods × settings on Dask")
    source = sweep.add_mutually_exclusive_group()
    source.add_argument("config", nargs="?", help="sweep TOML file")
    source.add_argument("--preset", help="a shipped sweep (see `odeprop presets`)")
    sweep.add_argument("--out", required=True, help="folder for the results and the summary")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="an existing Dask cluster (default: a local one, a process per core)")
    sweep.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    sweep.add_argument("--resume", action="store_true", help="skip the runs --out already has")
    sweep.add_argument("--quiet", action="store_true", help="no progress line")
    sub.add_parser("presets", help="list the shipped experiments, comparisons and sweeps")
    sub.add_parser("methods", help="list the integration methods")
    lesson_cli.add_parsers(sub)
    for p in [run, *sub.choices.values()]:
        p.error = parser.error  # one-line errors everywhere
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*SUBCOMMANDS, "-h", "--help"):
        return importlib.import_module("odeprop.gui.app").main(argv)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if on_main_thread else None
    try:
        args = _parser().parse_args(argv)
        if args.command == "presets":
            print("experiments (odeprop run --preset NAME):")
            for name in preset_names():
                print(f"  {name:26s} {load_preset(name).name}")
            print("comparisons (odeprop compare --preset NAME):")
            for name in comparison_names():
                print(f"  {name:26s} {load_comparison(name).name}")
            print("sweeps (odeprop sweep --preset NAME --out DIR):")
            for name in sweep_names():
                print(f"  {name:26s} {load_sweep(name).name}")
            return 0
        if args.command == "compare":
            return _compare(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "lessons":
            return lesson_cli.list_lessons(args)
        if args.command == "lesson":
            return lesson_cli.show_or_check(args)
        if args.command == "methods":
            for m in METHODS.values():
                print(f"{m.name:12s} {m.family:9s} {m.label}")
            return 0
        return _run(args)
    except CliError as exc:
        print(f"odeprop: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"odeprop: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("odeprop: error: this machine ran out of memory; use a smaller network or less "
              "data", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM (Terminated); notes say what was kept
        kept = "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))
        if isinstance(exc, Terminated):
            print(f"odeprop: terminated (SIGTERM){kept}", file=sys.stderr)
            return 143
        print(f"\nodeprop: interrupted{kept}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `odeprop run | head`: the reader left; nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush finds no pipe
        return 141
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _document(args, command: str, cls, load_named, kind: str, other: str):
    """The experiment or comparison a subcommand was given, by --preset or file; a file of the
    other kind gets a pointer to the other subcommand."""
    if args.preset:
        return load_named(args.preset)
    if not args.config:
        raise CliError(f"{command} needs a CONFIG.toml or --preset NAME")
    try:
        return cls.load(args.config)
    except ValueError as exc:
        why = wrong_kind(args.config, kind)
        raise CliError(f"{why}; run it with: odeprop {other} {args.config}" if why
                       else str(exc)) from None


def _run(args) -> int:
    from .io import open_atomic, write_text_atomic
    from .run import Run

    experiment = _document(args, "run", Experiment, load_preset, "experiment", "compare")
    experiment = apply_overrides(experiment, args.overrides)
    if args.pace is not None and not args.pace > 0:
        raise CliError(f"--pace: must be a positive number of seconds, got {args.pace:g}")
    out = _out_folder(args.out)
    run = Run(experiment)
    stream = _SnapshotStream(_Progress(enabled=not args.quiet),
                             Pacer(args.pace, experiment.stop) if args.pace else None)
    write_error = report = None
    try:
        if out is None:
            report = stream.follow(run)
        else:
            with open_atomic(out / "snapshots.csv") as fh:
                report = stream.follow(run, fh)
                if stream.error is not None:
                    raise stream.error  # the partial file is deleted, not left looking whole
    except OSError as exc:
        write_error = exc
    if report is None:  # snapshots.csv could not even be opened: nothing ran
        run.close()
        why = write_error.strerror or write_error
        raise CliError(f"--out {out}: cannot write the results ({why})")
    stream.progress.done()
    if out is not None:  # the files first: a reader of stdout that leaves loses none of them
        try:
            summary = {"experiment": experiment.to_dict(), "report": report.to_dict()}
            write_text_atomic(out / "summary.json", json.dumps(summary, indent=2))
            write_text_atomic(out / "experiment.toml", experiment.to_toml())
        except OSError as exc:
            write_error = write_error or exc
    print(_summary(experiment, report))
    if out is not None:
        if write_error is not None:
            raise CliError(f"--out {out}: could not write the results "
                           f"({write_error.strerror or write_error})")
        print(f"wrote {stream.count} snapshots to {out / 'snapshots.csv'} and the summary to "
              f"{out / 'summary.json'}")
    if isinstance(stream.interrupted, Terminated):
        raise stream.interrupted  # after writing what the run has, like Ctrl+C
    return 0 if report.status != "failed" else 1


class _SnapshotStream:
    """Follows a run: shows its progress and writes each snapshot as a CSV row the moment it
    arrives, so a run of any length holds none of them in memory (a million-step run kept as
    Snapshot objects would take ~1 GB)."""

    def __init__(self, progress: _Progress, pacer: Pacer | None = None):
        self.progress = progress
        self.pacer = pacer  # sleeps after each snapshot, between the run's timed steps
        self.count = 0
        self.error: OSError | None = None  # the first failed write; later rows are dropped
        self.interrupted: KeyboardInterrupt | None = None  # Ctrl+C or SIGTERM stopped the run
        self._writer = None

    def follow(self, run, fh=None):
        """Run to the end (or a keyboard interrupt), writing rows to ``fh`` if given."""
        from .snapshot import Snapshot

        if fh is not None:
            self._writer = csv.writer(fh, lineterminator="\n")
            self._write(Snapshot.field_names())
        try:
            return run.run_to_end(self._record)
        except KeyboardInterrupt as exc:
            self.interrupted = exc
            run.stop("terminated (SIGTERM)" if isinstance(exc, Terminated)
                     else "interrupted from the keyboard")
            return run.report()
        finally:
            run.close()

    def _record(self, snap) -> None:
        self.count += 1
        if self._writer is not None:
            self._write(snap.as_row())
        self.progress.show(snap)
        if self.pacer is not None:
            self.pacer.add(snap)
            time.sleep(self.pacer.remaining())

    def _write(self, row) -> None:
        if self.error is None:
            try:
                self._writer.writerow(row)
            except OSError as exc:
                self.error = exc


def _compare(args) -> int:
    from .comparison import Comparison
    from .comparison_runner import ComparisonRunner, RunsRefused

    comparison = _document(args, "compare", Comparison, load_comparison, "comparison", "run")
    if args.parallel is not None and args.parallel < 1:
        raise CliError("--parallel must be at least 1")
    out = _out_folder(args.out)
    # With --out, each run's rows go to a record in a temporary folder (memory stays bounded)
    # and its CSV is copied from there; the folder goes when the command ends.
    records = tempfile.TemporaryDirectory(prefix="odeprop-compare-") if out is not None else None
    try:
        try:  # refuses a run that cannot run on the network before any run starts
            runner = ComparisonRunner(comparison, args.parallel,
                                      record_dir=records.name if records is not None else None)
        except RunsRefused as exc:
            raise CliError(f"{exc}; no run was started") from None
        try:
            return _compare_to_end(args, comparison, runner, out)
        finally:
            runner.discard_records()
    finally:
        if records is not None:
            records.cleanup()


def _compare_to_end(args, comparison, runner, out) -> int:
    """Run every run, print the table; with ``out``, write it and copy each run's record."""
    from .io import write_text_atomic
    from .summary import summarize

    extra = len(runner.results) * (comparison.samples_per_run - 1)

    def show(event):
        if event.kind == "record_failed":  # the run goes on; its rows stay in memory
            print(f"odeprop: {event.payload}", file=sys.stderr, flush=True)
        if not args.quiet and event.kind == "repeat":  # other seeds and timing repeats
            made = sum(len(r.samples) for r in runner.results)
            print(f"[repeats {made}/{extra}] {event.payload.label} (seed {event.payload.seed}): "
                  f"{event.payload.status}", file=sys.stderr, flush=True)
        if args.quiet or event.kind not in ("done", "error", "died"):
            return
        result = runner.results[event.index]
        finished = sum(r.done for r in runner.results)
        print(f"[{finished}/{len(runner.results)}] {result.label}: {result.status} — "
              f"{result.message}", file=sys.stderr, flush=True)

    interrupted = None
    try:
        runner.run_all(show)
    except KeyboardInterrupt as exc:
        interrupted = exc
        runner.terminate()
        if not isinstance(exc, Terminated):
            print("odeprop: interrupted; the table holds what arrived", file=sys.stderr)
    summary = summarize(comparison, runner.results)
    print(f"# {comparison.name}\n")
    print(summary.to_markdown())
    if out is not None:
        try:
            write_text_atomic(out / "summary.md",
                              f"# {comparison.name}\n\n{summary.to_markdown()}")
            write_text_atomic(out / "summary.csv", summary.to_csv())
            write_text_atomic(out / "comparison.toml", comparison.to_toml())
            runner.close_records()
            for result in runner.results:
                result.export_csv(out / f"run-{result.index + 1}-{_slug(result.label)}.csv")
        except OSError as exc:
            raise CliError(f"--out {out}: could not write the results "
                           f"({exc.strerror or exc})") from None
        print(f"wrote summary.md, summary.csv and {len(runner.results)} run CSVs to {out}")
    if isinstance(interrupted, Terminated):
        raise interrupted  # after writing what arrived, like Ctrl+C
    return 0 if all(r.status != "died" for r in runner.results) else 1


def _sweep(args) -> int:
    """``odeprop sweep``: needs the ``sweep`` extra (Dask, pyarrow, matplotlib)."""
    missing = [m for m in ("dask.distributed", "pyarrow", "matplotlib")
               if importlib.util.find_spec(m.partition(".")[0]) is None]
    if missing:
        raise CliError(f"odeprop sweep needs {', '.join(missing)}: pip install 'odeprop[sweep]'")
    from .sweep import Sweep
    from .sweep_runner import run_sweep

    if args.workers is not None and (args.workers < 1 or args.scheduler):
        raise CliError("--workers must be at least 1, and goes without --scheduler")
    if args.preset:
        sweep = load_sweep(args.preset)
    elif args.config:
        sweep = Sweep.load(args.config)
    else:
        raise CliError("sweep needs a SWEEP.toml or --preset NAME")
    try:
        return run_sweep(sweep, args.out, args.scheduler, args.workers, args.resume, args.quiet)
    except OSError as exc:  # a full disk, a folder we may not write to
        raise CliError(f"--out {args.out}: could not write the results "
                       f"({exc.strerror or exc}); the rows written so far stay there") from None


def wrong_kind(path, wanted: str) -> str | None:
    """The refusal for a comparison given where an experiment is wanted, or the other way
    round (clearer than the unknown key it causes); None when that is not the problem."""
    from .comparison import is_comparison
    from .config import read_toml

    try:
        data = read_toml(path)
    except ValueError:
        return None
    if wanted == "experiment" and is_comparison(data):
        return f"{path}: a comparison (it has [[runs]]), not an experiment"
    if wanted == "comparison" and not is_comparison(data):
        return f"{path}: an experiment (it has no [[runs]]), not a comparison"
    return None


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "run"


def _out_folder(path):
    if path is None:
        return None
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    try:  # checked before anything runs, not found out at the end
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise CliError(f"--out {out}: cannot write in the folder ({exc.strerror or exc})") \
            from None
    return out


class _Progress:
    """A live, self-overwriting progress line on a terminal; sparse lines otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0

    def show(self, snap) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < (0.2 if self.tty else 2.0):
            return
        self.last = now
        line = (f"step {snap.step:>7d}  t {snap.t:10.4g}  loss {snap.loss_train:10.4g}"
                + (f"  acc {snap.accuracy_train:6.1%}" if snap.accuracy_train is not None else "")
                + (f"  rms {snap.rms_train:8.3g}" if snap.rms_train is not None else "")
                + (f"  h {snap.h:9.3g}" if snap.h is not None else "")
                + f"  grads {snap.n_grad:>7d}  {snap.wall:6.1f} s")
        if self.tty:
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self.width:
            sys.stderr.write("\n")


def _fmt(value, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


def _summary(experiment: Experiment, report) -> str:
    f = report.final
    lines = [
        f"{experiment.name}: {report.status} — {report.message}",
        f"  method {experiment.solver.method}, {report.n_params} parameters",
        f"  steps {f.step}, t {f.t:.6g}, wall {f.wall:.3f} s (solver {f.solver_wall:.3f} s)",
        f"  loss train {f.loss_train:.6g}, test {_fmt(f.loss_test, '.6g')}",
    ]
    if f.accuracy_train is not None:
        lines.append(f"  accuracy train {f.accuracy_train:.1%}, test "
                     f"{_fmt(f.accuracy_test, '.1%')}")
    if f.rms_train is not None:
        lines.append(f"  RMS error train {f.rms_train:.4g}, test {_fmt(f.rms_test)}")
    lines.append(f"  gradients {f.n_grad}, Hv {f.n_hvp}, Hessians {f.n_hess}; rejected "
                 f"{_fmt(f.rejected, 'd')}, Newton failures {_fmt(f.newton_failures, 'd')}, "
                 f"Jacobians {_fmt(f.jac_evals, 'd')}, LU {_fmt(f.lu_decomps, 'd')}")
    saddle = {True: " (indefinite: not a minimum)", False: " (positive semidefinite)",
              None: ""}[report.indefinite]
    lines.append(f"  Hessian at the end: λmin {_fmt(report.lambda_min_final)}, λmax "
                 f"{_fmt(report.lambda_max_final)}{saddle}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
