"""Sweeps on real Dask clusters: a LocalCluster of two worker processes and a `dask scheduler` +
`dask worker` started on localhost give the same table as running the cells one by one; a worker
killed mid-sweep loses no run; an interrupted sweep resumed ends with the uninterrupted table."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from dask.distributed import Client, LocalCluster  # noqa: E402

from odeprop.core.sweep import Sweep  # noqa: E402
from odeprop.core.sweep_cell import run_cell  # noqa: E402
from odeprop.core.sweep_results import ResultsStore  # noqa: E402
from odeprop.core.sweep_runner import SweepRunner  # noqa: E402
from odeprop.core.sweep_summary import cluster_final_weights  # noqa: E402

from sweep_documents import XOR_PROBLEM, solver_method  # noqa: E402

#: XOR 2-2-1 from 6 initial weights, 3 methods: 18 runs of 5–100 ms.
SMALL = ('name = "small"\n' + XOR_PROBLEM
         + '[axes]\n"network.init_seed" = { start = 0, count = 6 }\n'
         + '[[targets]]\nkind = "rms"\nvalue = 0.1\n[[targets]]\nkind = "rms"\nvalue = 0.05\n'
         + solver_method("GD", "gd", learning_rate=5.0)
         + solver_method("BDF", "BDF", rtol=1e-2, atol=1e-2)
         + solver_method("dopri5", "dopri5", rtol=1e-2, atol=1e-2)
         + '[reference]\nmethod = "RK45"\n')


def comparable(rows):
    """Rows without what depends on the machine's load (wall times)."""
    return [{k: v for k, v in row.items() if not k.endswith("wall")} for row in rows]


@pytest.fixture(scope="module")
def small():
    return Sweep.from_toml(SMALL)


@pytest.fixture(scope="module")
def sequential(small):
    """The table made without Dask, one cell after the other in this process."""
    return comparable([run_cell(small, cell) for cell in small.cells()])


@pytest.fixture(scope="module")
def local_client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def sweep_rows(small, client, out, **kwargs):
    runner = SweepRunner(small, out, kwargs.pop("resume", False))
    outcome = runner.run(client, **kwargs)
    return runner, outcome


def test_a_local_cluster_gives_the_sequential_table(small, sequential, local_client, tmp_path):
    runner, outcome = sweep_rows(small, local_client, tmp_path)
    assert (outcome.done, outcome.failed, outcome.workers) == (18, 0, 2)
    rows = runner.store.rows(with_theta=True)
    assert comparable(rows) == sequential
    assert all(row["status"] == "finished" for row in rows)
    # the CSV written while the sweep ran holds every row too
    assert (tmp_path / "results.csv").read_text().count("\n") == 1 + 18


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def external_cluster(tmp_path):
    """`dask scheduler` and `dask worker` (2 processes) as subprocesses; killed at the end."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []

    def start(*args):
        procs.append(subprocess.Popen([sys.executable, "-m", *args], cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))

    try:
        start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
              "--no-dashboard")
        start("distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1",
              "--no-dashboard")
        yield address
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_dask_scheduler_and_workers_give_the_same_table(small, sequential, external_cluster,
                                                         tmp_path):
    from odeprop.core.sweep_runner import connect

    client = connect(external_cluster)
    try:
        client.wait_for_workers(2, timeout=60)
        assert client.cluster is None  # not ours to close
        runner, outcome = sweep_rows(small, client, tmp_path)
    finally:
        client.close()
    assert (outcome.done, outcome.failed, outcome.workers) == (18, 0, 2)
    assert comparable(runner.store.rows(with_theta=True)) == sequential


def test_a_worker_killed_mid_sweep_loses_no_run(small, sequential, local_client, tmp_path):
    killed = []

    def kill_a_busy_worker(row):
        if killed:
            return
        busy = [w for w, tasks in local_client.processing().items() if tasks]
        pids = local_client.run(os.getpid, workers=busy[:1])
        for pid in pids.values():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    runner, outcome = sweep_rows(small, local_client, tmp_path, on_row=kill_a_busy_worker)
    assert killed
    assert (outcome.done, outcome.failed) == (18, 0)
    assert comparable(runner.store.rows(with_theta=True)) == sequential
    local_client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert killed[0] not in local_client.run(os.getpid).values()


def test_resume_after_an_interrupt_ends_with_the_uninterrupted_table(small, sequential,
                                                                    local_client, tmp_path):
    seen = []

    def interrupt_after_five(row):
        seen.append(row["cell"])
        if len(seen) == 5:
            raise KeyboardInterrupt

    runner, outcome = sweep_rows(small, local_client, tmp_path, on_row=interrupt_after_five)
    assert outcome.interrupted and outcome.done == 5
    kept = ResultsStore(tmp_path, small).rows(with_theta=True)
    assert sorted(r["cell"] for r in kept) == sorted(seen)  # what finished is kept, on disk
    runner, outcome = sweep_rows(small, local_client, tmp_path, resume=True)
    assert (outcome.kept, outcome.done, outcome.interrupted) == (5, 13, None)
    rows = runner.store.rows(with_theta=True)
    assert comparable(rows) == sequential
    table = runner.store.finish(cluster_final_weights(small, rows))
    assert table.num_rows == 18 and None not in table.column("cluster").to_pylist()
    assert (tmp_path / "results.csv").read_text().count("\n") == 1 + 18


def test_resume_refuses_another_sweep_and_a_fresh_run_refuses_a_used_folder(small, tmp_path):
    runner = SweepRunner(small, tmp_path)
    runner.start()
    runner.store.close()
    with pytest.raises(ValueError, match="already holds a sweep's results; add --resume"):
        SweepRunner(small, tmp_path)
    other = Sweep.from_toml(SMALL.replace('count = 6', 'count = 7'))
    with pytest.raises(ValueError, match="is a different sweep"):
        SweepRunner(other, tmp_path, resume=True)


def test_the_command_line_writes_table_summary_and_plots(tmp_path, capsys):
    from odeprop.core.cli import main

    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "out"
    begin = time.monotonic()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert time.monotonic() - begin < 120
    names = {p.name for p in out.iterdir()}
    assert {"results.parquet", "results.csv", "summary.md", "summary.csv", "sweep.toml",
            "costs.png", "costs.svg", "success.png", "success.svg"} <= names
    summary = (out / "summary.md").read_text()
    assert "| BDF | 6 | 0 | 100% | 100% |" in summary
    assert "wrote 18 of 18 runs" in capsys.readouterr().out


@pytest.mark.parametrize(("sent", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),  # as `odeprop run` and `compare` end on it
])
def test_ctrl_c_or_sigterm_ends_the_command_cleanly_and_keeps_what_finished(tmp_path, sent,
                                                                            code, said):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "odeprop.core.cli", "sweep", "--preset",
                             "owens-filkin-50", "--out", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        csv_path = out / "results.csv"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if csv_path.exists() and csv_path.read_text().count("\n") >= 4:
                break
            time.sleep(0.2)
        proc.send_signal(sent)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    kept = csv_path.read_text().count("\n") - 1
    assert 3 <= kept < 250
    assert f"odeprop: {said}; {kept} of 250 runs kept" in err
    assert "Traceback" not in err
    assert (out / "results.parquet").exists() and (out / "summary.md").exists()
    store = ResultsStore(out, Sweep.from_toml((out / "sweep.toml").read_text()))
    assert store.table().num_rows == kept  # the Parquet parts --resume trusts hold every row


def test_an_unreachable_scheduler_is_one_message_and_leaves_no_folder(small, tmp_path, capsys,
                                                                     monkeypatch):
    from odeprop.core import sweep_runner
    from odeprop.core.cli import main

    with pytest.raises(ValueError) as info:
        sweep_runner.connect(f"tcp://127.0.0.1:{free_port()}", timeout=1)
    message = str(info.value)
    assert message.startswith("--scheduler tcp://127.0.0.1:")
    assert "cannot reach a Dask scheduler there" in message
    real = sweep_runner.connect
    monkeypatch.setattr(sweep_runner, "connect",
                        lambda scheduler, workers: real(scheduler, workers, timeout=1))
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    assert main(["sweep", str(path), "--out", str(out), "--scheduler", address]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()  # so the same command works once the cluster is up
