"""`make up`'s provider account lives in a keystore of the stack's own, not in the user's: a
user who imports one account can run every command without `--account`."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

from dapp.chain.accounts import Keystore, dev_account
from dapp.compute.warm import declares_handler
from dapp.config import Settings
from dapp.devstack.demo import MODEL_SERVICE, write_demo_model
from dapp.market.provider import (
    DEV_PROVIDER_INDEX,
    DEV_PROVIDER_NAME,
    dev_provider_settings,
    unlock_provider,
)
from dapp.tasks import validate

PASSWORD = "user-password"


def test_up_keeps_its_provider_out_of_the_user_keystore(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD)
    user = Keystore(settings.resolved_keystore_dir)
    user.import_key("me", dev_account(4).key.hex(), PASSWORD)
    # what an older `make up` left: dev account 3 as `dev-provider` in the user's keystore
    user.import_key(DEV_PROVIDER_NAME, dev_account(DEV_PROVIDER_INDEX).key.hex(), PASSWORD)

    gateway = dev_provider_settings(settings)

    assert [e.name for e in user.list()] == ["me"]
    assert gateway.resolved_keystore_dir != settings.resolved_keystore_dir
    assert unlock_provider(gateway).address == dev_account(DEV_PROVIDER_INDEX).address
    again = dev_provider_settings(settings)  # a restart reuses the stack's own keystore
    assert unlock_provider(again).address == dev_account(DEV_PROVIDER_INDEX).address


def test_a_user_account_named_dev_provider_is_left_alone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD)
    user = Keystore(settings.resolved_keystore_dir)
    mine = user.import_key(DEV_PROVIDER_NAME, dev_account(6).key.hex(), PASSWORD)

    dev_provider_settings(settings)

    assert [(e.name, e.address) for e in user.list()] == [(DEV_PROVIDER_NAME, mine.address)]


def test_demo_model_answers_the_same_bytes_warm_and_cold_and_fits_its_schemas(
        tmp_path: Path) -> None:
    """The demo model `up` seeds is served warm (`handle`) and, without warm workers, run as a
    script: both give the same answer, which its declared output schema accepts."""
    script = write_demo_model(tmp_path)
    assert declares_handler(script)
    request = {"day": 12}
    assert validate(request, MODEL_SERVICE.input_schema) is None
    cold = subprocess.run([sys.executable, "-I", str(script)], input=json.dumps(request).encode(),
                          capture_output=True, check=True).stdout
    warm = runpy.run_path(str(script), run_name="__model__")["handle"](json.dumps(request))
    assert warm.encode() == cold and cold.endswith(b"\n")
    assert validate(json.loads(cold), MODEL_SERVICE.output_schema) is None
    assert MODEL_SERVICE.tasks == ["tabular-regression"]
