"""The tests. Set before anything imports grpc: the tests start child processes with fork and
exec (a `preexec_fn` gives each its parent-death signal), and with gRPC's fork support on, a
test process that has used grpc.aio restarts gRPC's threads in the forked child, which can then
abort before exec (SIGABRT, "epoll_wait error: Bad file descriptor"). The children never use
the parent's gRPC, so the support is not needed."""

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
