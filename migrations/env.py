"""Alembic environment: the app's engine and metadata (all feature models are imported by create_app)."""
from alembic import context

from lti_tool.db import Base, db

config = context.config
app = config.attributes.get("app")
if app is None:  # plain `alembic` command line: build the app from LTI_TOOL_CONFIG
    from lti_tool import create_app

    app = create_app()

with app.app_context():
    engine = db.engine_for(app)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
