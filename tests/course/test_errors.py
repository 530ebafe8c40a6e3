"""The error pages a person meets outside any one feature: a body larger than the app takes (an oversized upload)
is a 413 page in plain words, saying nothing was saved and what to do, not a bare server page."""
from __future__ import annotations

import io


def test_a_body_over_the_limit_gets_a_413_page_in_plain_words(app):
    before = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    try:
        answer = app.test_client().post("/c/1/library/new", data={"file": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "big.pdf")},
                                        content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = before
    text = answer.get_data(as_text=True)
    assert answer.status_code == 413
    assert "The file is too large" in text and "Nothing was saved: a form can send at most 1 MB" in text
    assert "Traceback" not in text
