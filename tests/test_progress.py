from __future__ import annotations

import io

from recmesh.progress import ProgressBar


def test_plain_lines_when_not_terminal():
    stream = io.StringIO()
    bar = ProgressBar("work", 3, stream=stream, line_every_seconds=1e-9)
    bar.advance()
    bar.advance()
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("work: 2/3 done, ")
    assert "eta" in lines[-1]
    assert "\r" not in stream.getvalue()


def test_silent_when_not_terminal_by_default():
    stream = io.StringIO()
    bar = ProgressBar("work", 3, stream=stream)
    bar.advance()
    bar.close()
    assert stream.getvalue() == ""
