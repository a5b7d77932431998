"""`python -m grader`: the grader's commands without the service."""

import sys

from grader.cli import main

sys.exit(main())
