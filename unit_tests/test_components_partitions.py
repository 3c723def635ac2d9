"""EveryCombination: the CDK's Cartesian product of partition routers, without its parent-state warning,
for parents that keep no state."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airbyte_cdk.sources.declarative.partition_routers import CartesianProductStreamSlicer, ListPartitionRouter
from airbyte_cdk.sources.declarative.partition_routers.substream_partition_router import (
    ParentStreamConfig,
    SubstreamPartitionRouter,
)
from airbyte_cdk.sources.declarative.requesters.request_option import RequestOption, RequestOptionType

from source_listrak.components import EveryCombination


def values(field: str, *items: Any) -> ListPartitionRouter:
    option = RequestOption(field_name=field, inject_into=RequestOptionType.request_parameter, parameters={})
    return ListPartitionRouter(values=list(items), cursor_field=field, config={}, parameters={}, request_option=option)


def lists_router(incremental_dependency: bool) -> SubstreamPartitionRouter:
    parent = ParentStreamConfig(
        stream=object(),  # never read here
        parent_key="listId",
        partition_field="listId",
        config={},
        parameters={},
        incremental_dependency=incremental_dependency,
    )
    return SubstreamPartitionRouter(parent_stream_configs=[parent], config={}, parameters={})


def test_partitions_and_request_parameters_are_the_cdks_cartesian_product() -> None:
    routers = [values("listId", 1, 2), values("subscriptionState", "Subscribed", "Unsubscribed")]
    ours = EveryCombination(partition_routers=routers)
    cdk = CartesianProductStreamSlicer(stream_slicers=routers, parameters={})

    slices = list(ours.stream_slices())

    assert [dict(s.partition) for s in slices] == [dict(s.partition) for s in cdk.stream_slices()]
    assert [dict(s.partition) for s in slices] == [
        {"listId": 1, "subscriptionState": "Subscribed"},
        {"listId": 1, "subscriptionState": "Unsubscribed"},
        {"listId": 2, "subscriptionState": "Subscribed"},
        {"listId": 2, "subscriptionState": "Unsubscribed"},
    ]
    assert ours.get_request_params(stream_slice=slices[1]) == {"listId": 1, "subscriptionState": "Unsubscribed"}
    assert ours.get_stream_state() is None


def test_a_parent_stream_router_builds_without_the_cdks_parent_state_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        CartesianProductStreamSlicer(stream_slicers=[lists_router(False), values("s", "a")], parameters={})
    assert "Parent state handling is not supported" in caplog.text  # what the CDK's own logs
    caplog.clear()

    with caplog.at_level(logging.DEBUG):
        EveryCombination(partition_routers=[lists_router(False), values("s", "a")])

    assert caplog.records == []


def test_a_parent_that_would_keep_state_is_refused() -> None:
    with pytest.raises(ValueError, match="incremental_dependency"):
        EveryCombination(partition_routers=[lists_router(True), values("s", "a")])
