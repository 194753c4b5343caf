# A re-creation of migrations/versions/4143b65eccf4_article_description_renamed_.py
# (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the differential test: written for this project
# from the original's behaviour, not a copy of its code.
"""The blog's second revision (the head): an article's text becomes the nullable text column content, added last,
and description is dropped (its values are not carried over, as in the original)."""

import sqlalchemy as sa
from alembic import op

revision = "4143b65eccf4"
down_revision = "c6e1f1bd7e55"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("content", sa.Text(), nullable=True))
    op.drop_column("articles", "description")


def downgrade() -> None:
    op.add_column("articles", sa.Column("description", sa.Text(), nullable=True))
    op.drop_column("articles", "content")
