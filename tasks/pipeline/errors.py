"""Errors the pipeline raises for bad input, so task code can fail a job with a useful message."""

from __future__ import annotations


class InputError(ValueError):
    """A malformed input; the message names the item, the field and why.

    Example: ``conversation 3 ('Trip'): field 'mapping' must be an object``. It subclasses
    ``ValueError`` so callers that only know the standard library still catch it.
    """
