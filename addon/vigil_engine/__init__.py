"""Vigil recording engine: records IP cameras by stream copy, indexes footage, serves an API."""

__version__ = "0.1.0"
