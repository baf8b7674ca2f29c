"""Init file for sync folder."""
