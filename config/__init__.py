"""Configuration classes, chosen by name (LTI_TOOL_CONFIG) and overridden by environment variables."""
