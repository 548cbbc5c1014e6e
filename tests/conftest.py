"""Shared fixtures: the real dev and prod stacks, evaluated once each under mocks."""

import pytest

from tests.harness import StackResult, evaluate


def _evaluated(stack: str) -> StackResult:
    result = evaluate(stack)
    if result.error:
        raise result.error
    return result


@pytest.fixture(scope="session")
def dev() -> StackResult:
    return _evaluated("dev")


@pytest.fixture(scope="session")
def prod() -> StackResult:
    return _evaluated("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def each_stack(request, dev, prod) -> StackResult:
    return {"dev": dev, "prod": prod}[request.param]
