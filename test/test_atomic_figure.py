"""Plots (eval.png, spatial_qa.png, maniskill_eval.png) are written whole or not at all."""

from pathlib import Path

import pytest

from spatialbot_ros.core.durable import atomic_save_figure

pytestmark = pytest.mark.core


class _Figure:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, int]] = []

    def savefig(self, buf, format: str, dpi: int) -> None:  # noqa: A002 - matplotlib's keyword
        self.calls.append((format, dpi))
        buf.write(b"\x89PNG partial")
        if self.fail:
            raise RuntimeError("renderer died")
        buf.write(b" rest")


def test_a_figure_lands_whole_with_its_format_and_dpi(tmp_path: Path):
    fig = _Figure()
    atomic_save_figure(fig, tmp_path / "out" / "eval.png", dpi=120)
    assert (tmp_path / "out" / "eval.png").read_bytes() == b"\x89PNG partial rest" and fig.calls == [("png", 120)]


def test_a_failing_render_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    target = tmp_path / "eval.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="renderer died"):
        atomic_save_figure(_Figure(fail=True), target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["eval.png"]
