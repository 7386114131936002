"""Every setting is typed, read from the environment and documented in docs/settings.md."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from autograd_playground.serve.settings import Settings

SETTINGS_DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def documented_settings() -> dict[str, str]:
    """The settings table of docs/settings.md: name -> default, as written there."""
    text = SETTINGS_DOC.read_text()
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", text, flags=re.M))


def test_every_setting_is_in_the_settings_doc():
    documented = documented_settings()
    missing = set(Settings.model_fields) - set(documented)
    assert not missing, f"settings missing from docs/settings.md: {sorted(missing)}"
    unknown = set(documented) - set(Settings.model_fields)
    assert not unknown, f"docs/settings.md documents settings that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_documented_default_is_the_real_one(name):
    written = documented_settings()[name]
    real = Settings.model_fields[name].default
    if real is None:
        assert written == "(empty)"
    elif isinstance(real, bool):
        assert written == str(real).lower()
    elif isinstance(real, str):
        assert written == f"`{real}`"
    else:
        assert float(written) == float(real)


def test_every_setting_has_a_description():
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_settings_come_from_the_environment_with_the_prefix(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_LENGTH", "123")
    monkeypatch.setenv("PLAYGROUND_DOCS_ENABLED", "false")
    settings = Settings()
    assert settings.max_length == 123
    assert settings.docs_enabled is False
    assert settings.limits().max_length == 123


def test_nonsense_values_are_refused_at_start_up(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_LENGTH", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_metrics_are_for_loopback_only_by_default():
    import ipaddress

    from autograd_playground.serve.settings import metrics_networks

    networks = metrics_networks(Settings.model_fields["metrics_allow"].default)
    assert networks is not None

    def allowed(address: str) -> bool:
        return any(ipaddress.ip_address(address) in network for network in networks)

    assert allowed("127.0.0.1") and allowed("127.8.9.10") and allowed("::1")
    for outside in ("10.0.0.5", "172.18.0.5", "192.168.1.10", "fd00::1", "8.8.8.8", "::2"):
        assert not allowed(outside), outside


def test_every_core_limit_is_a_setting_and_reaches_the_core():
    import dataclasses

    from autograd_playground.core.language.rules import Limits

    names = [field.name for field in dataclasses.fields(Limits)]
    assert set(names) <= set(Settings.model_fields)
    for name in names:
        assert Settings.model_fields[name].default == getattr(Limits(), name), name
    # Every limit set away from its default arrives in the core's Limits under its name.
    changed = {name: getattr(Limits(), name) * 2 for name in names}
    changed["max_lines"] = 50  # within its own upper bound
    changed["max_train_steps"] = 5_000
    assert dataclasses.asdict(Settings(**changed).limits()) == changed
