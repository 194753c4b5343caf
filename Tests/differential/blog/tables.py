# A re-creation of app/database/models.py (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the
# differential test: written for this project from the original's behaviour, not a copy of its code.
"""The blog's two ORM classes. The tables themselves are made by the Alembic revisions (migrations/versions); these
classes map the same columns. What they decide at run time is the original's: timestamps are naive UTC values taken
in Python, one call per column, and deleting an author deletes its articles through the ORM (cascade "all, delete",
no ON DELETE in the schema)."""

from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, mapped_column, relationship


def utc_now_naive() -> datetime:
    """What datetime.utcnow() gives (the original's default), without its deprecation warning."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"

    id = mapped_column(Integer, primary_key=True)
    first_name = mapped_column(String(25))
    last_name = mapped_column(String(25))
    created_at = mapped_column(DateTime, default=utc_now_naive)
    updated_at = mapped_column(DateTime, default=utc_now_naive, onupdate=utc_now_naive)
    # Deleting an author loads its articles and deletes them first, as the original does.
    articles = relationship("Article", back_populates="author", cascade="all, delete")


class Article(Base):
    __tablename__ = "articles"

    id = mapped_column(Integer, primary_key=True)
    title = mapped_column(String(60))
    content = mapped_column(Text)
    author_id = mapped_column(Integer, ForeignKey("authors.id"), nullable=False)
    created_at = mapped_column(DateTime, default=utc_now_naive)
    updated_at = mapped_column(DateTime, default=utc_now_naive, onupdate=utc_now_naive)
    author = relationship("Author", back_populates="articles")
