"""Uploaded resource files: checked by size, by extension and by their first bytes, stored under a generated
name in the instance folder (never under static/), and served as downloads that cannot run in our origin.

A file is removed only once the change that stopped using it is committed (``remove_after_commit``): a change
that fails or is rolled back leaves its rows pointing at files that are still there.
"""
from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, current_app
from sqlalchemy.orm import Session

from lti_tool.errors import InvalidInput, NotFound
from lti_tool.jobs import after_commit


class UploadRefused(InvalidInput):
    title = "That file cannot be uploaded"

    def __init__(self, message: str, field: str | None = "upload"):
        super().__init__(message, field)


# Extension → (content type, a check of the first bytes). Office files are ZIP containers.
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
SIGNATURES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "ppt": ("application/vnd.ms-powerpoint", _OLE),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
}
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif"}
# Whatever the extension says, content that a browser could run is refused.
_ACTIVE_MARKERS = (b"<html", b"<!doctype", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe", b"<head")


@dataclass
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size: int


def upload_dir() -> str:
    return current_app.config["UPLOAD_DIR"]


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def check_upload(filename: str, data: bytes) -> str:
    """The content type of an acceptable upload, or UploadRefused with the reason."""
    limit = int(current_app.config["MAX_UPLOAD_BYTES"])
    allowed = [e.strip().lower() for e in str(current_app.config["ALLOWED_UPLOAD_TYPES"]).split(",") if e.strip()]
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    if not data:
        raise UploadRefused("The file is empty. Choose the file again.")
    if len(data) > limit:
        raise UploadRefused(f"The file is {_human(len(data))}; the largest file allowed is {_human(limit)}.")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in allowed or ext not in SIGNATURES:
        raise UploadRefused(f"Files of type “.{ext or '?'}” cannot be uploaded. Allowed: "
                            + ", ".join("." + e for e in allowed) + ".")
    content_type, magic = SIGNATURES[ext]
    head = data[:1024]
    if magic is not None and not head.startswith(magic):
        raise UploadRefused(f"The file is named .{ext} but its content is not a {ext.upper()} file.")
    if magic is None:
        lowered = head.lower().lstrip()
        if b"\x00" in head or any(marker in lowered for marker in _ACTIVE_MARKERS):
            raise UploadRefused("The file's content looks like a web page or a program, which cannot be uploaded.")
        try:
            data[:4096].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < 4090:   # a character cut at the end of the sample is fine
                raise UploadRefused("A text file must be UTF-8 text.") from None
    return content_type


def store_upload(filename: str, data: bytes) -> StoredFile:
    """Check and store a file; the stored name is random and says nothing about the original."""
    content_type = check_upload(filename, data)
    original = os.path.basename((filename or "").replace("\\", "/")).strip()[:255] or "file"
    ext = original.rsplit(".", 1)[-1].lower()
    stored = f"{secrets.token_hex(16)}.{ext}"
    os.makedirs(upload_dir(), exist_ok=True)
    with open(_path(stored), "xb") as fh:
        fh.write(data)
    return StoredFile(stored, original, content_type, len(data))


def _path(stored_name: str) -> str:
    return os.path.join(upload_dir(), os.path.basename(stored_name))


def copy_upload(stored_name: str) -> str:
    """A copy of a stored file under a new name (for a copied item), or "" when there is none any more."""
    if not stored_name:
        return ""
    src = _path(stored_name)
    if not os.path.isfile(src):
        return ""
    new = f"{secrets.token_hex(16)}.{stored_name.rsplit('.', 1)[-1]}"
    shutil.copyfile(src, _path(new))
    return new


def remove_after_commit(session: Session, stored_name: str) -> None:
    """Remove a stored file once the session's transaction that stopped using it has committed; nothing is
    removed if it rolls back."""
    if not stored_name:
        return
    path = _path(stored_name)   # the app's folder, known now: the commit may run outside the app context

    def remove() -> None:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass

    after_commit(session, f"modules.remove-upload:{path}", remove)


def file_response(stored_name: str, original_name: str, content_type: str) -> Response:
    """The file as a download (inline only for images and PDF), sandboxed and never sniffed."""
    path = _path(stored_name)
    if not stored_name or not os.path.isfile(path):
        raise NotFound("The file is no longer there. Ask your facilitator to upload it again.")
    with open(path, "rb") as fh:
        data = fh.read()
    disposition = "inline" if content_type in INLINE_TYPES else "attachment"
    ascii_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in original_name) or "file"
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = (f'{disposition}; filename="{ascii_name}"; '
                                               f"filename*=UTF-8''{quote(original_name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
