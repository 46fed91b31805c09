"""The documents NFT marketplaces and wallets read (issue 19): `tokenURI` of an asset NFT,
`uri(id)` of its licence tokens and the collections' `contractURI` point at JSON documents of
the shape OpenSea-style marketplaces read — name, description, image, attributes — kept on IPFS
beside the asset's own metadata (which they reference) and set on LicenseTokens by the owner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dapp.errors import InvalidInput

MAX_IMAGE_BYTES = 10 * 1024 * 1024

#: The first bytes of the image formats marketplaces show.
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
                (b"GIF89a", "gif"))


def image_format(data: bytes) -> str | None:
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.lstrip()[:5] in (b"<svg ", b"<?xml") and b"<svg" in data[:1024]:
        return "svg"
    return None


def read_image(path: Path) -> bytes:
    """The bytes of `--image FILE`: a PNG, JPEG, GIF, WebP or SVG of at most 10 MiB."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise InvalidInput(f"image {path} is {size} bytes, more than {MAX_IMAGE_BYTES}",
                               hint="give a smaller image (marketplaces show thumbnails)")
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read image {path}: {error.strerror}") from None
    if image_format(data) is None:
        raise InvalidInput(f"{path} is not a PNG, JPEG, GIF, WebP or SVG image",
                           hint="give the image marketplaces should show for the asset")
    return data


def _attributes(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"trait_type": name, "value": value} for name, value in pairs]


def asset_document(*, title: str, description: str, kind: str, tags: list[str],
                   license_text: str, metadata_cid: str, content_cid: str,
                   image_cid: str | None) -> dict[str, Any]:
    """The asset NFT's document."""
    document: dict[str, Any] = {
        "name": title,
        "description": description or f"A {kind} on the DataDAO exchange.",
        "attributes": _attributes([("kind", kind), ("license", license_text[:200]),
                                   ("metadata", f"ipfs://{metadata_cid}"),
                                   ("content", f"ipfs://{content_cid}"),
                                   *(("tag", tag) for tag in tags)]),
    }
    if image_cid is not None:
        document["image"] = f"ipfs://{image_cid}"
    return document


def licence_document(asset: dict[str, Any], asset_id: int) -> dict[str, Any]:
    """The document of the asset's licence tokens (every scope; the id says which)."""
    document = {
        "name": f"Licence: {asset['name']}",
        "description": f"A licence to use asset {asset_id} ({asset['name']}) on the DataDAO "
                       "exchange: its holder may download it or run jobs on it, as the token "
                       "id's scope says, until the licence's end (`expiresAt`).",
        "attributes": _attributes([("asset", asset_id), *(
            (a["trait_type"], a["value"]) for a in asset["attributes"]
            if a["trait_type"] in ("kind", "license"))]),
    }
    if "image" in asset:
        document["image"] = asset["image"]
    return document


def collection_document(name: str, description: str, image_uri: str | None = None
                        ) -> dict[str, Any]:
    """A collection's `contractURI` document (ERC-7572)."""
    document = {"name": name, "description": description}
    if image_uri is not None:
        document["image"] = image_uri
    return document


def encode_document(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


def check_document(document: Any, *, collection: bool = False) -> None:
    """ValueError unless `document` has the shape marketplaces read."""
    if not isinstance(document, dict):
        raise ValueError("a marketplace document is a JSON object")
    for key in ("name", "description"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise ValueError(f"`{key}` must be a non-empty string")
    image = document.get("image")
    if image is not None and not (isinstance(image, str) and image.startswith("ipfs://")):
        raise ValueError("`image` must be an ipfs:// URI")
    if collection:
        return
    attributes = document.get("attributes")
    if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and isinstance(a.get("trait_type"), str) and "value" in a
            for a in attributes):
        raise ValueError("`attributes` must be a list of {trait_type, value}")
