import shutil

import pytest

from tests.api.fixtures import *  # noqa: F403 - the shared service fixtures
from tests.fault.burst import sandbox_readable_home


@pytest.fixture
def fault_home(service_home):
    home = sandbox_readable_home(service_home)
    yield home
    shutil.rmtree(home, ignore_errors=True)
