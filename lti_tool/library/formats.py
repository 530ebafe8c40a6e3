"""Files out of the library: the final products as one ZIP (stdlib ``zipfile``) with an ``index.html`` that
lists each product, its introduction and its resources with their licence and author, and links to the files
inside the archive (``files/<product>/<n>-<name>``) or to the resources' web addresses.

Every text in the index is escaped (introductions are the sanitised HTML stored when they were written). File
names in the archive are made from the stored originals, stripped of anything but letters, digits, dots,
dashes and underscores, so nothing unpacks outside its folder."""
from __future__ import annotations

import os
import re
import zipfile
from typing import IO

from markupsafe import Markup, escape

from lti_tool.library.models import Collection

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "file") -> str:
    cleaned = _UNSAFE.sub("-", os.path.basename(name or "")).strip(".-")[:80]
    return cleaned or fallback


def _path(stored_name: str, upload_dir: str) -> str | None:
    path = os.path.join(upload_dir, os.path.basename(stored_name))
    return path if stored_name and os.path.isfile(path) else None


def products_zip(program_title: str, collections: list[Collection], upload_dir: str, out: IO[bytes]) -> None:
    """Write the ZIP of ``collections`` (each with its items' resources and their approved versions loaded) to
    ``out`` (a temporary file: a program's files can be many megabytes)."""
    parts = [f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Final products · "
             f"{escape(program_title)}</title></head><body>\n<h1>Final products: {escape(program_title)}</h1>\n"]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, collection in enumerate(collections, start=1):
            folder = f"files/{n:02d}-{safe_name(collection.title, 'product')}"
            cohort = collection.cohort.name if collection.cohort else collection.origin_cohort
            parts.append(f"<section>\n<h2>{escape(collection.title)}</h2>\n")
            if cohort:
                parts.append(f"<p>Cohort: {escape(cohort)}"
                             + (f" ({escape(collection.origin_year)})" if collection.origin_year else "") + "</p>\n")
            parts.append(str(Markup(collection.introduction_html)) + "\n<ul>\n")
            for m, item in enumerate(collection.items, start=1):
                version = item.resource.approved_version
                if version is None:
                    continue
                line = [f"<li><strong>{escape(version.title)}</strong> ({escape(version.kind.label)}; "
                        f"{escape(version.licence.label)})"]
                stored = _path(version.file_stored_name, upload_dir)
                if stored is not None:
                    path = f"{folder}/{m:02d}-{safe_name(version.file_original_name)}"
                    archive.write(stored, path)
                    line.append(f" · <a href=\"{escape(path)}\">{escape(version.file_original_name)}</a>")
                if version.url:
                    line.append(f" · <a href=\"{escape(version.url)}\">{escape(version.url)}</a>")
                parts.append("".join(line) + "</li>\n")
            parts.append("</ul>\n</section>\n")
        parts.append("</body></html>\n")
        archive.writestr("index.html", "".join(parts))
