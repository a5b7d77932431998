"""The seccomp filter bwrap loads (`--seccomp FD`).

A network namespace still has a loopback device; this filter closes even that, and the system
calls that would let code leave or look out of its box."""

from __future__ import annotations

import errno
import os
import socket
import tempfile

import pyseccomp as sc

#: NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone flags that make a namespace.
CLONE_NEW_NAMESPACES = 0x7E020000
TIOCSTI = 0x5412  # push characters into a terminal's input
REFUSED_CALLS = ("unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev",
                 "mount", "umount2", "pivot_root", "chroot", "keyctl", "add_key",
                 "request_key", "bpf", "perf_event_open", "userfaultfd",
                 # would outlive a job in a warm slot's IPC namespace (nothing we run uses them)
                 "shmget", "msgget", "semget", "mq_open")


def seccomp_filter_file() -> int:
    """A file descriptor holding the BPF program: IPv4/IPv6/netlink/packet sockets, new
    namespaces, ptrace and the rest of `REFUSED_CALLS`, and TIOCSTI fail with EPERM."""
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
        f.add_rule(eperm, "socket", sc.Arg(0, sc.EQ, family))
    for call in REFUSED_CALLS:
        f.add_rule(eperm, call)
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEW_NAMESPACES, 0x10000000))
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NEW_NAMESPACES, 0x20000000))
    f.add_rule(eperm, "ioctl", sc.Arg(1, sc.EQ, TIOCSTI))
    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.seek(0)
        return os.dup(tmp.fileno())
