"""Support Center tables (to be written)."""
