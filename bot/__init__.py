"""upkeep: what you depend on upstream, and what you give back."""

__version__ = "0.1.0"
