"""Settings for the whole test run.

The suite runs every command in its own process as it always has: the
resident server (autodiff.frontends.server) is off here, so that a test of
the tool never answers from a server started by another test or by the
user. tests/test_server.py turns it on, each test with a private socket
directory.
"""

import os

os.environ["AUTODIFF_SERVER"] = "off"
