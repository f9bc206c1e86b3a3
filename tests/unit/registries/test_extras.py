"""A configured extension whose module or optional extra is missing is a config error naming the
extra to install, from the same registry entry the wiring builds from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from robo_tui.config import ConfigError, load_settings
from robo_tui.registries.analysts import ANALYSTS
from robo_tui.registries.base import Extension, extra_requirements
from robo_tui.registries.brokers import BROKERS
from robo_tui.registries.news import NEWS_SOURCES

GHOST = "ghost"


@pytest.fixture
def ghosts() -> Iterator[None]:
    """A broker, analyst and news source whose modules are not installed, needing extra 'ghost'."""
    entries = [(BROKERS, "robo_tui.adapters.brokers.ghost:build"),
               (ANALYSTS, "robo_tui_ghost_sdk.analyst:build"),
               (NEWS_SOURCES, "robo_tui.adapters.news.ghost:build")]
    for registry, target in entries:
        registry.register(Extension(GHOST, target, "Not installed here.", None, GHOST))
    yield
    for registry, _ in entries:
        registry.unregister(GHOST)


def load_error(tmp_path: Path, text: str) -> str:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    return str(info.value)


@pytest.mark.usefixtures("ghosts")
def test_broker_when_its_module_is_missing_then_config_error_names_the_extra(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[broker]\nkind = "ghost"\n')
    assert message == (
        f"{tmp_path / 'config.toml'}: broker.kind: broker 'ghost' needs the optional extra 'ghost' "
        "(robo_tui.adapters.brokers.ghost not installed); "
        "install it with: pip install 'robo-tui[ghost]'"
    )


@pytest.mark.usefixtures("ghosts")
def test_analyst_and_news_source_when_missing_then_each_named_with_its_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[analysts]\nprovider = "auto"\nauto_order = ["ghost", "rules"]\n'
                                   '[[news.sources]]\nname = "g"\nkind = "ghost"\nurl = "x"\n')
    assert "analysts.auto_order[0]: analyst 'ghost' needs the optional extra 'ghost'" in message
    assert "news.sources[0].kind: news source 'ghost' needs the optional extra 'ghost'" in message


@pytest.mark.usefixtures("ghosts")
def test_news_source_when_missing_but_disabled_then_accepted(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[news.sources]]\nname = "g"\nkind = "ghost"\nurl = "x"\nenabled = false\n')
    assert load_settings(config, environ={}).news.sources[0].enabled is False


def test_registered_extras_when_read_from_package_metadata_then_name_their_packages() -> None:
    assert extra_requirements("ib") == ("ib_async",)
    assert set(extra_requirements("robinhood")) == {"robin_stocks", "pyotp"}
    assert BROKERS.missing("ib") is None  # installed in the test environment
