# A re-creation of migrations/versions/c6e1f1bd7e55_init_.py
# (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the differential test: written for this project
# from the original's behaviour, not a copy of its code.
"""The blog's first revision: both tables, the article's text still named description.

Its id is the original's (the alembic_version row reads as the original's does); the schema it makes is the
original's: serial keys, varchar(25) names, varchar(60) title, text description, timestamps without time zone, all
nullable but the keys and author_id, and a plain foreign key (no ON DELETE) to authors."""

import sqlalchemy as sa
from alembic import op

revision = "c6e1f1bd7e55"
down_revision = None
branch_labels = None
depends_on = None


def timestamps() -> list:
    return [sa.Column(name, sa.DateTime(), nullable=True) for name in ("created_at", "updated_at")]


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(25), nullable=True),
        sa.Column("last_name", sa.String(25), nullable=True),
        *timestamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(60), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        *timestamps(),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("articles", "authors"):
        op.drop_table(table)
