"""Copy the ABIs of the project's contracts from Brownie's build into dapp/chain/abi/.

dapp/ reads ABIs from there, so the gateway, indexer and CLI run without Brownie or a build.
Run after `brownie compile` (`make abi` does both).
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "contracts"
TARGET = ROOT / "dapp" / "chain" / "abi"


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    written = []
    for artifact_path in sorted(BUILD.glob("*.json")):
        artifact = json.loads(artifact_path.read_text())
        source = artifact.get("sourcePath", "")
        if not source.startswith("contracts/") or not artifact.get("abi"):
            continue
        target = TARGET / f"{artifact['contractName']}.json"
        text = json.dumps(artifact["abi"], indent=1, sort_keys=True) + "\n"
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            written.append(target.name)
    print(f"ABIs in {TARGET.relative_to(ROOT)}: {len(written)} updated")


if __name__ == "__main__":
    main()
