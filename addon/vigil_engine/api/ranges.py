"""Serving a :class:`VirtualFile` over HTTP with ``Range`` support (RFC 9110, single ranges).

A browser seeking in a clip asks for byte ranges; each is answered with ``206`` and
exactly those bytes, read straight from the segment files. A multi-range request is
answered with the whole file (``200``), which RFC 9110 allows. ``If-Range`` with a stale
ETag also gets the whole file.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from .errors import ApiError
from .vfile import VirtualFile

_LOGGER = logging.getLogger(__name__)
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(
        "range_not_satisfiable", f"the range is beyond the file's {size} bytes", {"Content-Range": f"bytes */{size}"}
    )


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single byte range, None for the whole file.

    Raises ``range_not_satisfiable`` when the range starts beyond the end.
    """
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or malformed ranges: ignore the header (send everything)
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if last and int(last) < start:
        return None  # invalid syntax: ignore the header
    if start >= size:
        raise _unsatisfiable(size)
    return start, end


async def send(
    request: web.Request,
    file: VirtualFile,
    content_type: str,
    filename: str | None = None,
    cache: str = "private, max-age=3600",
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    response = web.StreamResponse(headers=headers)
    response.content_type = content_type
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = file.etag
    response.headers["Cache-Control"] = cache
    if filename is not None:
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    wanted = request.headers.get("If-Range")
    span = parse_range(request.headers.get("Range"), file.size)
    if wanted is not None and wanted != file.etag:
        span = None
    start, end = span if span is not None else (0, file.size)
    if span is not None:
        response.set_status(206)
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{file.size}"
    response.content_length = end - start
    await response.prepare(request)
    if request.method != "HEAD":
        try:
            async for chunk in file.stream(start, end):
                await response.write(chunk)
        except ConnectionError:
            return response  # the client went away (a player seeking elsewhere): nothing to do
        except OSError as err:
            # A segment vanished (retention) or failed mid-answer: the status is sent, so the only
            # honest signal left is to cut the connection short of its Content-Length.
            _LOGGER.warning("%s %s: answer cut short: %s", request.method, request.path, err.strerror or err)
            if request.transport is not None:
                request.transport.close()
            return response
    await response.write_eof()
    return response
