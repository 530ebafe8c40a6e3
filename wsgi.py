"""Entry point for gunicorn and `flask --app wsgi ...`: the configuration comes from LTI_TOOL_CONFIG."""
from lti_tool import create_app

app = create_app()
