# Vendored test data for Tests/integration/test_differential.py, not product code.
# Source: GitHub pipoupiwam/fastapi-blog, commit 3006359809228b33b8f2ac179cee43e26df6907d, file app/schemas.py, unchanged below this header.
# Licence: the repository states none (no LICENSE file at that commit); see Tests/differential/README.md.

from datetime import datetime

from pydantic import BaseModel
import logging

logger = logging.getLogger("blog-logger.services")

# Article Model

class ArticleBase(BaseModel):
    title: str
    content: str
    author_id: int


class Article(ArticleBase):
    """
    Database model for Article table
    """
    id: int

    class Config:
        from_attributes = True



# Writer Model
class AuthorBase(BaseModel):
    first_name: str
    last_name: str


class Author(AuthorBase):
    """
    Database model for Author table
    """
    id: int
    created_at: datetime
    updated_at: datetime


    class Config:
        from_attributes = True

