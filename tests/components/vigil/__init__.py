"""Tests of the Vigil integration."""
