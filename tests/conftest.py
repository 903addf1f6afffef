"""Shared pytest configuration: the real RTSP test camera fixtures."""

pytest_plugins = ["tests.support.fixtures"]
