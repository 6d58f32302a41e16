"""Consortia: a platform for library consortia."""

__version__ = "0.1.0"
