from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recmesh.toml"
    path.write_text(text)
    return path


def test_packaged_defaults_load() -> None:
    config = load_config(env={})

    assert config.server.address("gateway") == "127.0.0.1:50051"
    assert config.recommend.sources[0].name == "collaborative"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[recommend]\ndefault_n = -1\n", "recommend.default_n: must be between 1 and 10000, got -1"),
        ("[recommend]\nmax_n = 'ten'\n", "recommend.max_n: must be an integer, got 'ten'"),
        (
            "[recommend.ranker]\ntype = 'magic'\n",
            "recommend.ranker.type: must be one of none, fm, llm, switch, got 'magic'",
        ),
        (
            "[recommend]\ndefault_n = 20\nmax_n = 10\n",
            "recommend.default_n: must not exceed max_n (10), got 20",
        ),
        (
            "[database]\ndata_store = 'mysql://x'\n",
            "database.data_store: must start with sqlite:/// or postgresql://",
        ),
        (
            "[server.gateway]\ngrpc_port = 70000\n",
            "server.gateway.grpc_port: must be between 0 and 65535, got 70000",
        ),
        ("[[recommend.sources]]\ntype = 'psychic'\n", "recommend.sources[0].type: must be one of"),
        (
            "[recommend.fallback]\nsources = ['ghost']\n",
            "recommend.fallback.sources: 'ghost' is not the name",
        ),
        ("[recommend\n", "invalid TOML"),
    ],
)
def test_bad_values_name_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml", env={})


def test_environment_overrides_reranker_settings(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    env = {
        "GORSE_RERANKER_URL": "http://127.0.0.1:1/gorse",
        "RERANKER_URL": "http://127.0.0.1:2/plain",
        "GORSE_RERANKER_MODEL": "gorse-model",
        "RECMESH_RERANKER_AUTH_TOKEN": "s3cret",
        "RECMESH_DATA_STORE": "sqlite:///elsewhere.db",
    }

    config = load_config(path, env=env)

    api = config.recommend.ranker.reranker_api
    assert api.url == "http://127.0.0.1:2/plain"
    assert api.model == "gorse-model"
    assert api.auth_token == "s3cret"
    assert config.data_store == "sqlite:///elsewhere.db"


def test_reranker_token_never_appears_in_repr(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={"RERANKER_AUTH_TOKEN": "s3cret-token"})

    assert "s3cret-token" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[recommend]\ndefualt_n = 5\n", "recommend.defualt_n"),
        ("[recomend]\ndefault_n = 5\n", "recomend"),
        ("[server.gateway]\ngrpc_prot = 1\n", "server.gateway.grpc_prot"),
        ("[[recommend.sources]]\ntype = 'latest'\nneighbors = 3\n", "recommend.sources[0].neighbors"),
    ],
)
def test_unknown_keys_are_rejected(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})

    assert f": {key}: unknown key" in str(caught.value)


def test_file_without_sources_keeps_default_recommenders(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[server.gateway]\ngrpc_port = 50061\n"), env={})

    assert config.server.gateway.grpc_port == 50061
    assert [s.name for s in config.recommend.sources] == [
        "collaborative",
        "item_to_item",
        "popular",
        "latest",
    ]
    assert config.recommend.fallback_sources == ("popular", "latest")


def test_own_sources_keep_only_matching_default_fallbacks(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[[recommend.sources]]\nname = 'latest'\ntype = 'latest'\n"), env={})

    assert config.recommend.fallback_sources == ("latest",)


def test_bad_data_store_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable RECMESH_DATA_STORE: must start with"):
        load_config(write(tmp_path, ""), env={"RECMESH_DATA_STORE": "mysql://x"})
