"""`datadao account` as a user runs it (subprocess): keystores are encrypted, private keys
never appear in output, errors are one line with an exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from dapp.chain.accounts import Keystore, WrongPassword
from dapp.devstack.process import REPO_ROOT

PASSWORD = "correct horse battery"
KEY = "0x" + "4c" * 32


def datadao(tmp_path: Path, *args: str, stdin: str | None = None,
            password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {"DAPP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    if password is not None:
        env["DAPP_KEYSTORE_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "dapp.cli.main", *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60)


def test_new_list_and_import_keep_keys_encrypted_and_out_of_output(tmp_path: Path) -> None:
    created = datadao(tmp_path, "account", "new", "alice", "--json")
    assert created.returncode == 0, created.stderr
    alice = json.loads(created.stdout)
    keystore_file = Path(alice["keystore"])
    assert keystore_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(keystore_file.read_text())["crypto"]["kdf"] == "scrypt"

    imported = datadao(tmp_path, "account", "import", "bob", "--key-stdin", "--json",
                       stdin=KEY + "\n")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["address"] == Account.from_key(KEY).address
    for result in (created, imported):
        assert KEY[2:] not in result.stdout + result.stderr
    assert KEY[2:] not in (tmp_path / "keystore" / "bob.json").read_text()

    listed = datadao(tmp_path, "account", "list", "--json")
    assert [(a["name"], a["address"]) for a in json.loads(listed.stdout)] == [
        ("alice", alice["address"]), ("bob", Account.from_key(KEY).address)]

    keystore = Keystore(tmp_path / "keystore")
    assert keystore.unlock("bob", PASSWORD).key.hex().removeprefix("0x") == KEY[2:]
    assert keystore.unlock(alice["address"], PASSWORD).address == alice["address"]
    with pytest.raises(WrongPassword):
        keystore.unlock("bob", "not the password")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("account", "import", "eve", "--key-stdin"), "0xnothex\n", 2,
         "not a valid private key"),
        (("account", "new", "../escape"), None, 2, "must be 1-64 letters"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(tmp_path: Path, args: tuple[str, ...],
                                                stdin: str | None, code: int,
                                                message: str) -> None:
    result = datadao(tmp_path, *args, stdin=stdin)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_duplicate_name_and_short_password_are_refused(tmp_path: Path) -> None:
    assert datadao(tmp_path, "account", "new", "carol").returncode == 0
    again = datadao(tmp_path, "account", "new", "carol")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = datadao(tmp_path, "account", "new", "dave", password="short")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr


def test_a_key_imported_under_a_second_name_is_refused_naming_the_first(tmp_path: Path) -> None:
    assert datadao(tmp_path, "account", "import", "dev-provider", "--key-stdin",
                   stdin=KEY + "\n").returncode == 0
    again = datadao(tmp_path, "account", "import", "provider2", "--key-stdin", stdin=KEY + "\n",
                    password="another password")
    assert again.returncode == 2
    assert "already in the keystore as account 'dev-provider'" in again.stderr
    assert "--account dev-provider" in again.stderr and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "keystore" / "provider2.json").exists()
    listed = json.loads(datadao(tmp_path, "account", "list", "--json").stdout)
    assert [a["name"] for a in listed] == ["dev-provider"]
