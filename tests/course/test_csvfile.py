"""One CSV writer: what a person typed opens in a spreadsheet as text, never as a formula."""
from lti_tool.course.csvfile import csv_bytes, neutralise


def test_cells_that_a_spreadsheet_would_run_are_quoted():
    for typed in ("=HYPERLINK(\"http://x\",\"y\")", "+1-555", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1+1"):
        assert neutralise(typed) == "'" + typed


def test_numbers_stay_numbers_and_plain_text_is_untouched():
    assert neutralise(-5) == -5 and neutralise(2.5) == 2.5 and neutralise("Ana María") == "Ana María"
    assert neutralise(None) == "" and neutralise(True) == "yes"


def test_the_file_is_utf8_with_a_byte_order_mark_and_crlf_rows():
    data = csv_bytes([["Name", "Score"], ["=cmd|' /C calc'!A0", -1]])
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig") == "Name,Score\r\n'=cmd|' /C calc'!A0,-1\r\n"
