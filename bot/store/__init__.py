"""The store: the only package that knows tables and sessions."""
