from tests.api.fixtures import *  # noqa: F403 - the shared service fixtures
from tests.lms.fixtures import *  # noqa: F403 - the test platform
