"""The file protocol's I/O on a real filesystem (dunebugger_units/remote/fileserve.py): request entries judged
without following anything, status files written atomically and never through a link, every entry removed,
and the remote's handover FIFO."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dunebugger_units.remote import fileproto as fp
from dunebugger_units.remote import fileserve as fs

ID = "0b6f3c9e-5d0a-4d8e-9a51-0f7c2e6a1b23"
REQUEST = {"component": "core", "action": "update", "version": "1.2.0", "request_id": ID, "timestamp": "t"}


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[fs.Dirs]:
    (tmp_path / "requests").mkdir()
    (tmp_path / "status").mkdir()
    opened = fs.Dirs.open(tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def record(**fields: object) -> dict[str, object]:
    return {**fp.status_record(ID, "core", "update", phase="completed", timestamp="t", success=True, message="ok"),
            **fields}


def test_a_request_dir_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real" / "requests").mkdir(parents=True)
    (tmp_path / "real" / "status").mkdir()
    (tmp_path / "updates").symlink_to(tmp_path / "real")
    with pytest.raises(OSError, match=r"Too many levels|Not a directory"):
        fs.Dirs.open(tmp_path / "updates")
    (tmp_path / "updates").unlink()
    (tmp_path / "updates").mkdir()
    (tmp_path / "updates" / "requests").symlink_to(tmp_path / "real" / "requests")
    (tmp_path / "updates" / "status").mkdir()
    with pytest.raises(OSError):
        fs.Dirs.open(tmp_path / "updates")


def test_entries_are_judged_without_following_or_reading_them(dirs: fs.Dirs, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(REQUEST))
    (tmp_path / "requests" / "link.json").symlink_to(secret)
    os.mkfifo(tmp_path / "requests" / "fifo.json")  # opening it for reading would block: it is never opened
    (tmp_path / "requests" / "dir.json").mkdir()
    (tmp_path / "requests" / "dir.json" / "x").write_text("x")
    (tmp_path / "requests" / f"{ID}.json").write_text(json.dumps(REQUEST))
    verdicts = dict(fs.scan(dirs))
    assert {n: v.kind for n, v in verdicts.items()} == {"link.json": "bad", "fifo.json": "bad", "dir.json": "bad",
                                                        f"{ID}.json": "ready"}
    assert verdicts["link.json"].reason == "Request file link.json is a symlink, not a regular file"
    for name in verdicts:
        fs.remove_request(dirs, name)
    assert list((tmp_path / "requests").iterdir()) == []
    assert secret.exists()  # the link went, not what it pointed at


def test_a_status_file_replaces_a_planted_link_and_never_writes_through_it(dirs: fs.Dirs, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (tmp_path / "status" / f"{ID}.json").symlink_to(victim)
    fs.write_status(dirs, record())
    written = tmp_path / "status" / f"{ID}.json"
    assert not written.is_symlink() and json.loads(written.read_text())["message"] == "ok"
    assert written.stat().st_mode & 0o777 == 0o644
    assert victim.read_text() == "untouched"
    assert sorted(p.name for p in (tmp_path / "status").iterdir()) == [f"{ID}.json"]  # no temp file left


def test_the_answer_to_a_bad_request_lands_in_the_status_dir_only(dirs: fs.Dirs, tmp_path: Path) -> None:
    (tmp_path / "requests" / "x.json").write_text(json.dumps({**REQUEST, "request_id": "../escaped"}))
    [(name, verdict)] = fs.scan(dirs)
    fs.answer_bad(dirs, name, verdict)
    assert sorted(p.name for p in (tmp_path / "status").iterdir()) == ["x.json"]
    assert json.loads((tmp_path / "status" / "x.json").read_text())["message"] == "Invalid request_id: ../escaped"
    assert not (tmp_path / "escaped.json").exists() and list((tmp_path / "requests").iterdir()) == []


def test_the_remote_reads_its_verdict_through_the_fifo(dirs: fs.Dirs, tmp_path: Path) -> None:
    handover = fs.RemoteHandover(dirs, ID)
    fs.write_status(dirs, record(success=None, message="in_progress", phase="installing"))
    handover.hide()
    assert not (tmp_path / "status" / f"{ID}.json").exists()
    handover.arm()
    got: list[dict[str, object]] = []

    def remote_starting() -> None:  # the new remote: a plain open() and json.load()
        with open(tmp_path / "status" / f"{ID}.json") as handle:  # as the remote reads it
            got.append(json.load(handle))

    reader = threading.Thread(target=remote_starting)
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # its read waits for the verdict
    handover.deliver(record(message="Updated remote to 1.2.0"))
    reader.join(5)
    assert got and got[0]["message"] == "Updated remote to 1.2.0"
    # and a remote that looks later finds the same verdict as a regular file
    assert json.loads((tmp_path / "status" / f"{ID}.json").read_text())["message"] == "Updated remote to 1.2.0"


def test_requests_arriving_meanwhile_are_busy_but_a_copy_never_overwrites_the_running_status(
        dirs: fs.Dirs, tmp_path: Path) -> None:
    running = record(success=None, message="in_progress", phase="downloading")
    fs.write_status(dirs, running)
    other = "1d1e5c1f-0000-4000-8000-000000000001"
    (tmp_path / "requests" / f"{ID}.json").write_text(json.dumps(REQUEST))  # the running one
    (tmp_path / "requests" / "copy.json").write_text(json.dumps(REQUEST))  # same id, another file
    (tmp_path / "requests" / f"{other}.json").write_text(json.dumps({**REQUEST, "request_id": other}))
    assert fs.answer_others(dirs, f"{ID}.json", ID) is False
    assert sorted(p.name for p in (tmp_path / "requests").iterdir()) == [f"{ID}.json"]
    assert json.loads((tmp_path / "status" / f"{ID}.json").read_text()) == running
    busy = json.loads((tmp_path / "status" / f"{other}.json").read_text())
    assert (busy["success"], busy["message"], busy["phase"]) == (False, fp.BUSY, "completed")
