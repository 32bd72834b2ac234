"""Fixtures of the media tests."""

from tests.media.rig import rig  # noqa: F401  # the fixture, shared by the media test modules
