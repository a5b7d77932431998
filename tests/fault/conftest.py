from tests.api.fixtures import *  # noqa: F403 - the shared service fixtures
