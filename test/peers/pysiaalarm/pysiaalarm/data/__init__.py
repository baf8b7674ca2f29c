"""Data helpers and files."""
