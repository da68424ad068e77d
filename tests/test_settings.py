"""The settings table is the one definition; docs/settings.md is generated from it and kept complete."""

import ipaddress
from pathlib import Path

import pytest

from newsdesk.errors import SettingsError
from newsdesk.settings import SETTINGS, load_settings, settings_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_settings_md_is_generated_from_the_table():
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_markdown(), "run: newsdesk settings --markdown > docs/settings.md"
    for s in SETTINGS:
        assert s.env in committed


def test_environment_then_options():
    env = {"NEWSDESK_PORT": "9000", "NEWSDESK_ALLOWED_NETWORKS": "127.0.0.0/8, 10.1.0.0/16"}
    s = load_settings(env)
    assert s.port == 9000
    assert s.allowed_networks == (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16"))
    assert load_settings(env, port="9100").port == 9100


def test_default_database_is_sqlite_in_the_data_directory(tmp_path):
    s = load_settings({"NEWSDESK_DATA_DIR": str(tmp_path)})
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/newsdesk.sqlite"
    assert load_settings({"NEWSDESK_DATABASE_URL": "postgresql://x@h/db"}).resolved_database_url == "postgresql://x@h/db"


def test_bad_values_are_clear_errors_and_secrets_are_not_echoed():
    with pytest.raises(SettingsError, match="NEWSDESK_PORT"):
        load_settings({"NEWSDESK_PORT": "eighty"})
    with pytest.raises(SettingsError, match="NEWSDESK_ALLOWED_NETWORKS"):
        load_settings({"NEWSDESK_ALLOWED_NETWORKS": "not-a-network"})
    with pytest.raises(SettingsError, match="unknown settings"):
        load_settings({}, colour="blue")
