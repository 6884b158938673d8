"""Output folders: RunFolder claims, refuses and replaces them by one rule for every command."""

from __future__ import annotations

import json

import pytest

from seqsal.errors import SeqsalError
from seqsal.runs import MANIFEST, RunFolder, invoked_as, read_manifest


def _finished(folder, kind: str, files: dict) -> None:
    run = RunFolder.claim(folder, kind)
    run.start({})
    for name in files.values():
        (run.path / name).write_text("data")
    run.finish(files)


def test_a_foreign_folder_and_a_file_are_refused(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(SeqsalError, match="not made by seqsal"):
        RunFolder.claim(foreign, "explain")
    assert (foreign / "thesis.tex").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SeqsalError, match="is a file"):
        RunFolder.claim(tmp_path / "file", "explain")


def test_another_kind_of_run_is_refused_even_with_force(tmp_path):
    _finished(tmp_path / "run", "simulate", {"train": "train.fa"})
    for force in (False, True):
        with pytest.raises(SeqsalError, match="holds a seqsal simulate run; seqsal explain never writes over another kind"):
            RunFolder.claim(tmp_path / "run", "explain", force=force)
    assert (tmp_path / "run" / "train.fa").is_file()


def test_a_finished_run_is_replaced_only_when_every_file_is_rewritten_or_with_force(tmp_path):
    folder = tmp_path / "run"
    _finished(folder, "explain", {"a": "attr.ism.npz", "b": "attr.saliency.npz"})
    with pytest.raises(SeqsalError, match="whose attr.ism.npz this run would not rewrite; use --force"):
        RunFolder.claim(folder, "explain", writes={"attr.saliency.npz"})
    assert (folder / "attr.ism.npz").is_file()
    RunFolder.claim(folder, "explain", writes={"attr.saliency.npz", "attr.ism.npz", "more.npz"})
    assert not (folder / "attr.ism.npz").exists() and not (folder / MANIFEST).exists()
    _finished(folder, "explain", {"a": "attr.ism.npz"})
    RunFolder.claim(folder, "explain", writes=set(), force=True)
    assert not (folder / "attr.ism.npz").exists()


def test_an_unfinished_resumable_run_needs_resume_or_force(tmp_path):
    run = RunFolder.claim(tmp_path / "run", "explain", resumable=True)
    run.start({"n_done": 3})
    with pytest.raises(SeqsalError, match="unfinished explain run; continue it with --resume"):
        RunFolder.claim(tmp_path / "run", "explain", resumable=True)
    reopened = RunFolder.reopen(tmp_path / "run", "explain")
    assert reopened.previous["n_done"] == 3
    RunFolder.claim(tmp_path / "run", "explain", resumable=True, force=True)


def test_the_manifest_says_incomplete_until_finish_and_records_the_command_given(tmp_path):
    with invoked_as(["explain", "in.fa", "--out", "run"]):
        run = RunFolder.claim(tmp_path / "run", "explain")
        run.start({"setting": 1})
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["complete"] is False and manifest["command"] == ["seqsal", "explain", "in.fa", "--out", "run"]
    run.finish({"scores": "scores.tsv"}, n=2)
    finished = read_manifest(tmp_path / "run")
    assert finished["complete"] is True and finished["files"] == {"scores": "scores.tsv"} and finished["n"] == 2
    with pytest.raises(SeqsalError, match="already finished"):
        RunFolder.reopen(tmp_path / "run", "explain")
    with pytest.raises(SeqsalError, match="not a seqsal output folder"):
        read_manifest(tmp_path)
