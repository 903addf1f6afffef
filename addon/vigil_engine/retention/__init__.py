"""Deciding what footage to delete: per-camera age, the global disk cap, minimum free space."""
