"""Airbyte source connector for Listrak email-marketing data."""

from source_listrak import fast_start  # noqa: F401  (first: before the CDK is imported)
from source_listrak.source import SourceListrak

__all__ = ["SourceListrak"]
