"""The archive: SQLAlchemy models, migrations, repository functions and the image file store."""
