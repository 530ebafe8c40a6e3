"""The certificate as a PDF: WeasyPrint from a Jinja template, with the QR code inline (segno SVG), tagged
PDF/UA-1 with the document's language, and nothing fetched while rendering but the two font files configured
(``CERTIFICATE_FONT_REGULAR`` / ``_BOLD``), which are therefore exactly the fonts embedded.

Before rendering, ``check_coverage`` reads those fonts' character maps with fontTools (it comes with
WeasyPrint) and refuses, with the characters named, a text that has a character the fonts lack: a
certificate that prints a box instead of a letter of someone's name is never issued (fpdf2 drops such glyphs
silently; WeasyPrint would fall back to whatever font fontconfig finds, or print a box).
"""
from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path

import segno
from flask import current_app, render_template
from markupsafe import Markup

from lti_tool.errors import InvalidInput


class FontMissing(InvalidInput):
    title = "The certificate's font cannot print this name"


@lru_cache(maxsize=8)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith(".ttc"):
        font = TTCollection(path, lazy=True).fonts[0]
    else:
        font = TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def font_files() -> list[str]:
    config = current_app.config
    return [config["CERTIFICATE_FONT_REGULAR"], config["CERTIFICATE_FONT_BOLD"]]


def font_name() -> str:
    return Path(font_files()[0]).stem.split("-")[0]


def missing_characters(text: str) -> list[str]:
    """The characters of ``text`` (NFC) that one of the certificate's fonts lacks, each once, in order."""
    files = font_files()
    for path in files:
        if not Path(path).is_file():
            raise FontMissing(f"The certificate font {path} is not installed on the server, so no certificate can "
                              "be made. The tool's administrator installs it (Debian: fonts-dejavu-core) or sets "
                              "CERTIFICATE_FONT_REGULAR and CERTIFICATE_FONT_BOLD.")
    maps = [_cmap(path) for path in files]
    missing = []
    for char in unicodedata.normalize("NFC", text or ""):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            continue
        if any(ord(char) not in cmap for cmap in maps) and char not in missing:
            missing.append(char)
    return missing


def check_coverage(texts: dict[str, str]) -> None:
    """``FontMissing`` naming the text and its characters the embedded fonts lack (``texts``: what → text)."""
    for what, text in texts.items():
        missing = missing_characters(text)
        if missing:
            chars = ", ".join(f"“{c}” (U+{ord(c):04X})" for c in missing)
            raise FontMissing(
                f"The certificate font ({font_name()}) has no letter for {chars} in the {what} “{text}”, so the PDF "
                f"would print boxes instead. Nothing was issued. The tool's administrator can install a font that "
                f"covers this script (for Chinese, Japanese or Korean: fonts-noto-cjk) and set "
                f"CERTIFICATE_FONT_REGULAR and CERTIFICATE_FONT_BOLD to it; then issue the certificate again.")


def qr_svg(url: str) -> Markup:
    """The QR code of the verification URL as inline SVG (no image file, nothing fetched)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=3, border=2, xmldecl=False, svgns=True,
                                    title="QR code of the verification page", dark="#000", light="#fff")
    return Markup(out.getvalue().decode())


def _fetcher():
    """A WeasyPrint URL fetcher that serves the two font files and refuses everything else (no network)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = {Path(p).resolve().as_uri(): p for p in font_files()}

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = allowed.get(url)
            if path is None:
                raise ValueError(f"certificates fetch nothing but their fonts (asked for {url[:80]})")
            return URLFetcherResponse(url, Path(path).read_bytes(), {"Content-Type": "font/ttf"})

    return FontsOnly()


def render_pdf(data: dict) -> bytes:
    """The certificate PDF of a snapshot (``writes.certificate_data``). Checks the fonts first."""
    check_coverage({"name": data["name"], "program title": data["program"], "provider": data.get("provider", ""),
                    "signer's name": data.get("signer_name", "")})
    regular, bold = font_uris()
    html = render_template("certificates/certificate.html", data=data, qr=qr_svg(data["verify_url"]),
                           regular_font=regular, bold_font=bold)
    return write_pdf(html)


def font_uris() -> tuple[str, str]:
    """The regular and bold font files as file: URIs, for a template's @font-face."""
    regular, bold = (Path(p).resolve().as_uri() for p in font_files())
    return regular, bold


def write_pdf(html: str) -> bytes:
    """A tagged PDF (PDF/UA-1) of ``html`` that may load the two font files and nothing else: what a person wrote
    into the page (a name, a protocol run's notes) cannot make the server fetch anything."""
    import weasyprint

    return weasyprint.HTML(string=html, url_fetcher=_fetcher(), base_url=None).write_pdf(pdf_variant="pdf/ua-1")
