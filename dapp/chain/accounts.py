"""Publisher accounts as encrypted keystore files (Web3 Secret Storage, scrypt).

A private key exists in memory only while a command needs it; nothing here prints, logs or
returns it except `export_key`, which the CLI never calls on its own.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from dapp.config import DEV_MNEMONIC
from dapp.errors import DappError, InvalidInput, NotFound

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class WrongPassword(DappError):
    code = "wrong-password"
    exit_code = 11


class UnknownAccount(NotFound):
    code = "unknown-account"


class DuplicateAccount(InvalidInput):
    """The key is already in the keystore under another name: two files for one address would
    leave `--account` unlocking whichever is found first."""

    code = "duplicate-account"


@dataclass(frozen=True)
class KeystoreEntry:
    name: str
    address: str
    path: Path


class Keystore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if not NAME_PATTERN.match(name):
            raise InvalidInput(f"account name {name!r} must be 1-64 letters, digits, . _ -")
        return self.directory / f"{name}.json"

    def _save(self, name: str, account: LocalAccount, password: str) -> KeystoreEntry:
        if len(password) < 8:
            raise InvalidInput("password must have at least 8 characters")
        path = self._path(name)
        if path.exists():
            raise InvalidInput(f"an account named {name!r} already exists ({path})")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = Account.encrypt(account.key, password)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(document, out)
        return KeystoreEntry(name=name, address=account.address, path=path)

    def create(self, name: str, password: str) -> KeystoreEntry:
        return self._save(name, Account.create(), password)

    def import_key(self, name: str, private_key: str, password: str) -> KeystoreEntry:
        try:
            account = Account.from_key(private_key.strip())
        except (ValueError, TypeError):
            raise InvalidInput("that is not a valid private key (64 hex digits)") from None
        for entry in self.list():
            if entry.address == account.address:
                raise DuplicateAccount(
                    f"the key of {account.address} is already in the keystore as account "
                    f"{entry.name!r}", hint=f"use account {entry.name!r}",
                    details={"name": entry.name, "address": entry.address})
        return self._save(name, account, password)

    def list(self) -> list[KeystoreEntry]:
        entries = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                address = to_checksum_address("0x" + json.loads(path.read_text())["address"]
                                              .lower().removeprefix("0x"))
            except (ValueError, KeyError, TypeError):
                continue  # not a keystore file
            entries.append(KeystoreEntry(path.stem, address, path))
        return entries

    def find(self, name_or_address: str) -> KeystoreEntry:
        wanted = name_or_address.lower().removeprefix("0x")
        for entry in self.list():
            if entry.name == name_or_address or entry.address.lower().removeprefix("0x") == wanted:
                return entry
        raise UnknownAccount(f"no account {name_or_address!r} in {self.directory}",
                             hint="list the keystore's accounts, or create this one")

    def unlock(self, name_or_address: str, password: str) -> LocalAccount:
        entry = self.find(name_or_address)
        try:
            key = Account.decrypt(json.loads(entry.path.read_text()), password)
        except ValueError:
            raise WrongPassword(f"wrong password for account {entry.name!r}") from None
        return Account.from_key(key)



def dev_account(index: int) -> LocalAccount:
    """Account `index` of the dev chains' public mnemonic (ganache/anvil fund them). Dev only:
    these keys are public."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(DEV_MNEMONIC,
                                                  account_path=f"m/44'/60'/0'/0/{index}")
    return account
