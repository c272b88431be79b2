"""Reading what a request carries: JSON, or an export zip as a provider delivers it.

Shared by the graphs and uploads blueprints (a body posted to the API and one PUT to a
presigned URL are read the same way).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from graphnode.api.errors import ApiError
from graphnode.api.schemas import Export
from graphnode.contract.exports import ArchiveError, is_zip, read_export_zip


def parse_json(raw: bytes, what: str = "the body") -> Any:
    """Decoded JSON, or a 400 that says where it broke."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", f"{what} is nested too deeply") from None


def read_export(raw: bytes, max_bytes: int) -> Any:
    """The decoded export of a JSON file or of the zip a person downloaded (told apart by the
    zip's first bytes, whatever the file is called or typed as)."""
    if not is_zip(raw):
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "invalid_json",
                           f"the file is neither JSON nor a zip ({exc}): send the zip as "
                           "downloaded from ChatGPT, Claude or Google Takeout, or the JSON "
                           "file inside it") from None
        except RecursionError:
            raise ApiError(400, "invalid_json", "the file is nested too deeply") from None
    try:
        name, data = read_export_zip(raw, max_bytes)
    except ArchiveError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return parse_json(data, f"{name} in the zip")


def check_export(items: Any) -> None:
    """A 400 naming the accepted formats when no parser would read ``items``."""
    try:
        Export.model_validate(items)
    except ValidationError as exc:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ApiError(400, "invalid_export", message) from None
