"""Build hook: everything else lives in pyproject.toml."""

from setuptools import setup

setup()
