"""A missing tool fails the chart tests with the fix, it never skips them."""

from __future__ import annotations

import pytest

from tests.integration.chart._support import find_tool


def test_missing_tool_fails_with_the_install_command() -> None:
    with pytest.raises(
        pytest.fail.Exception, match=r"tradetune-no-such-tool is not installed: `make setup` installs it"
    ):
        find_tool("tradetune-no-such-tool")


@pytest.mark.parametrize("tool", ["helm", "promtool", "kubernetes-validate"])
def test_tools_are_installed(tool: str) -> None:
    assert find_tool(tool)
