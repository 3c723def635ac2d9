"""Airbyte source connector for Listrak email-marketing data."""

from source_listrak.source import SourceListrak

__all__ = ["SourceListrak"]
