# A re-creation of the blog example (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the
# differential test: written for this project from the original's behaviour, not a copy of its code.
"""The blog example: ORM tables (tables.py), its API (api.py) and the Alembic revisions that make its schema
(migrations/). Tests/differential/run_original.py runs them."""
