from __future__ import annotations

from pathlib import Path

from recmesh import protogen


def test_committed_stubs_match_the_protos(tmp_path: Path) -> None:
    protogen.generate(tmp_path)

    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2*.py*"))
    committed_dir = protogen.ROOT
    assert generated, "protoc generated nothing"
    for relative in generated:
        committed = committed_dir / relative
        assert committed.exists(), f"{relative} is missing; run `make proto`"
        assert committed.read_bytes() == (tmp_path / relative).read_bytes(), (
            f"{relative} is stale; run `make proto`"
        )
