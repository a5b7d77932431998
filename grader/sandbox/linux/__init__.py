"""Linux mechanisms the bwrap backend is built from (and the tests look at): uid slots, per-job
cgroups, the seccomp filter, and finding and killing processes. As root only, except procs."""
