"""The transactional store: SQLAlchemy 2 models, the one engine factory, bulk loading, repositories."""
