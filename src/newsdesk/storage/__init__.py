"""Storage: one interface (base.Storage), SQLite and PostgreSQL behind it."""

from .base import ArticleFilter, Storage

__all__ = ["ArticleFilter", "Storage", "open_storage"]


def open_storage(url: str, *, migrate: bool = True) -> Storage:
    """Open the database at `url` (sqlite:///path or postgresql://...) and bring its schema up to date."""
    from .sql import SqlStorage

    storage = SqlStorage(url)
    if migrate:
        try:
            storage.migrate()
        except BaseException:
            storage.close()
            raise
    return storage
