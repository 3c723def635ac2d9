"""Airbyte source connector for Listrak email-marketing data."""

from source_listrak import cdk_changes  # noqa: F401  (first: one of its changes must precede the CDK's import)
from source_listrak.source import SourceListrak

__all__ = ["SourceListrak"]
