"""``alignd models``: list, add (with rejections) and remove."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alignd.catalog import tiny
from alignd.cli.main import app
from alignd.config import Settings, get_settings


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ALIGND_HOME", str(settings.home_dir))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def tiny_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tiny-copy")
    tiny.build_checkpoint(target)
    return target


def flat(text: str) -> str:
    return " ".join(text.split())


def test_models_list_shows_builtin_models(cli: CliRunner) -> None:
    result = cli.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "tiny-random-llama" in result.stdout
    assert "nugen-flash-instruct" in result.stdout


def test_models_add_checkpoint_listed(cli: CliRunner, tiny_copy: Path) -> None:
    added = cli.invoke(app, ["models", "add", "my-tiny", str(tiny_copy), "--description", "Local copy"])
    assert added.exit_code == 0, added.output
    assert "Added base model my-tiny" in flat(added.stderr)
    listed = cli.invoke(app, ["models", "list"])
    assert "my-tiny" in listed.stdout


def test_models_add_missing_path_rejected(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["models", "add", "ghost", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "does not exist" in flat(result.stderr)
    assert "ghost" not in cli.invoke(app, ["models", "list"]).stdout


def test_models_add_folder_without_model_rejected(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a model")
    result = cli.invoke(app, ["models", "add", "notes", str(folder)])
    assert result.exit_code == 1
    assert "no config.json" in flat(result.stderr)


def test_models_add_text_file_rejected(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "weights.txt"
    path.write_text("hello")
    result = cli.invoke(app, ["models", "add", "text", str(path)])
    assert result.exit_code == 1
    assert "not a .gguf file" in flat(result.stderr)


def test_models_remove_registered(cli: CliRunner, tiny_copy: Path) -> None:
    assert cli.invoke(app, ["models", "add", "my-tiny", str(tiny_copy)]).exit_code == 0
    removed = cli.invoke(app, ["models", "remove", "my-tiny"])
    assert removed.exit_code == 0, removed.output
    assert "my-tiny" not in cli.invoke(app, ["models", "list"]).stdout


def test_models_remove_unknown_fails(cli: CliRunner) -> None:
    result = cli.invoke(app, ["models", "remove", "nothing"])
    assert result.exit_code == 1
    assert "No registered model is named 'nothing'" in flat(result.stderr)
