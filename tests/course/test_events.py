"""Receivers are wired by create_app, not by whichever module a process happened to import."""
import subprocess
import sys


def test_importing_a_feature_connects_nothing_and_create_app_connects_every_receiver(tmp_path):
    script = f"""
from lti_tool.course import events
import lti_tool.modules.book_study
assert not events.post_created.receivers, "an import must not wire anything"
from lti_tool import create_app
create_app("testing", DATABASE_URL="sqlite:///{tmp_path}/x.sqlite3", STATE_CACHE_DIR="{tmp_path}", REDIS_URL="")
from lti_tool.modules.book_study import complete_discussion_items
assert [r() for r in events.post_created.receivers.values()] == [complete_discussion_items]
create_app("testing", DATABASE_URL="sqlite:///{tmp_path}/y.sqlite3", STATE_CACHE_DIR="{tmp_path}", REDIS_URL="")
assert len(events.post_created.receivers) == 1, "a second app connects nothing twice"
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
