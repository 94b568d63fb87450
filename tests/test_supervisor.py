"""The one line a multi-process launcher prints when its training child is ended by a signal or by
JAX's runtime; the logs below are XLA's own, as jaxlib 0.10.2 wrote them in these cases."""

from __future__ import annotations

import signal
import sys

import pytest

from jaxgan import supervisor

FATAL = ("F1206 08:41:06.698488   19479 client.h:80] Terminating process because the JAX "
         "distributed service detected fatal errors. This most likely indicates that another "
         "task died; see the other task logs for more details. absl::Status: ")
LOST_PEER = FATAL + ("UNAVAILABLE: The following tasks are unhealthy (stopped sending "
                     "heartbeats):\n1\nThe tasks have crashed. Check the task logs for an earlier "
                     "error.\n\nRPC: /xla.coordination.CoordinationService/PollForError\n")
LOST_COORDINATOR = FATAL + (
    "UNAVAILABLE: Failed to send RPC to coordination service. Either the leader task was "
    "preempted/died/restarted unexpectedly or this task is experiencing network issues.\n"
    "Additional GRPC error information from remote target coordination_service while calling "
    "/xla.coordination.CoordinationService/PollForError:\n:UNKNOWN:Error received from peer  "
    '{grpc_message:"Socket closed", grpc_status:14}\n')
SILENT_COORDINATOR = FATAL + ("DEADLINE_EXCEEDED: Deadline Exceeded\n\n"
                              "RPC: /xla.coordination.CoordinationService/Heartbeat\n")
NO_JOIN = FATAL + ("DEADLINE_EXCEEDED: Deadline Exceeded\n\n"
                   "RPC: /xla.coordination.CoordinationService/RegisterTask\n")
OTHER = FATAL + "INTERNAL: something new\n*** Check failure stack trace: ***\n"

CASES = [
    (LOST_PEER, 0, "process 1 of the job stopped answering, so the job ends"),
    (LOST_COORDINATOR, 1, "lost the job's coordinator (process 0), so the job ends"),
    (SILENT_COORDINATOR, 1, "lost the job's coordinator (process 0), so the job ends"),
    (NO_JOIN, 1, "could not join the job within --join_seconds: is process 0 running, and is "
                 "--coordinator_address right?"),
    (NO_JOIN, 0, "the other processes did not all join within --join_seconds"),
    (OTHER, 0, "JAX's runtime aborted: INTERNAL: something new"),
    ("", None, "aborted (SIGABRT)"),
    # what comes before the last fatal line is not its cause
    ("I1206 08:40:00.000000 1 client.cc:1] RegisterTask done; Socket closed\n" + LOST_PEER, 0,
     "process 1 of the job stopped answering, so the job ends"),
]


@pytest.mark.parametrize("log, index, expected", CASES)
def test_an_abort_is_told_in_words(log, index, expected):
    assert supervisor.why(log, signal.SIGABRT, index) == expected


def test_another_signal_is_named():
    assert supervisor.why(LOST_PEER, signal.SIGKILL, 0) == "ended by SIGKILL"


def test_only_the_child_settles(monkeypatch):
    """Outside a launcher's child, settle and mark leave stdout and stderr alone."""
    monkeypatch.delenv(supervisor.LOG_ENV, raising=False)
    streams = sys.stdout, sys.stderr
    assert not supervisor.inside()
    supervisor.settle()
    supervisor.mark()
    assert (sys.stdout, sys.stderr) == streams
