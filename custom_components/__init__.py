"""Custom integrations of this repository (a package, so tests import the repo's copy)."""
