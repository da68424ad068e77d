"""`newsdesk users` and `newsdesk apikeys`, run as an operator would, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from newsdesk.cli import app
from newsdesk.services.accounts import Accounts
from newsdesk.storage import open_storage


def test_users_and_apikeys(tmp_path: Path) -> None:
    env = {"NEWSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "COLUMNS": "200"}
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), env=env, input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    run("users", "add", "root", "--admin", "--password-stdin", stdin="first-password\n")
    run("users", "add", "reader", stdin="reader-password\nreader-password\n")  # prompted, confirmed
    listing = run("users", "list")
    assert "root" in listing and "admin" in listing and "reader" in listing
    short = runner.invoke(app, ["users", "add", "weak", "--password-stdin"], env=env, input="short\n")
    assert short.exit_code == 1 and "password" in short.output
    taken = runner.invoke(app, ["users", "add", "root", "--password-stdin"], env=env, input="another-password\n")
    assert taken.exit_code == 1 and "exists" in taken.output

    run("users", "passwd", "root", "--password-stdin", stdin="second-password\n")
    key = run("apikeys", "create", "root", "--name", "phone").strip().splitlines()[-1]
    assert key.startswith("nd_")
    storage = open_storage(env["NEWSDESK_DATABASE_URL"])
    try:
        accounts = Accounts(storage, "x")
        assert accounts.login("root", "second-password", None).is_admin
        assert accounts.authenticate_key(key).name == "root"
        keys = run("apikeys", "list", "--user", "root")
        assert "phone" in keys and key not in keys and "active" in keys
        key_id = storage.list_api_keys()[0].id
        run("apikeys", "revoke", str(key_id))
        assert "revoked" in run("apikeys", "list")
        assert not storage.list_api_keys()[0].active
    finally:
        storage.close()
