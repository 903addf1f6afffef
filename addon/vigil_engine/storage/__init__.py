"""Footage on disk and its SQLite index: path layout, the index, MP4 repair, reconciliation."""
