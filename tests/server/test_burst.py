"""Twenty submissions at once on the embedded default: every review finishes, nothing prints a traceback.

The embedded default is what partner-review runs without PREFECT_API_URL: Prefect's temporary API
server on SQLite (`cli.api.prefect_api`), the SQLite store, and PARTNER_REVIEW_DISPATCH=local
(every review runs inside the receiver's process). `bench/review.py --burst` drives it: twenty
signed deliveries posted back to back to the real receiver, and a reviewer per submission that
decides as soon as its run waits, so decisions reach Prefect while other reviews still run.

Before partner-review's embedded server began its SQLite transactions IMMEDIATE
(`flows/prefect_server.py`), that burst printed Prefect's `database is locked` traceback
("Encountered error during state validation"; 23 of them in one run): the resume of a paused run
(`/flow_runs/{id}/resume`) read the run, then wrote its Running state in a DEFERRED transaction,
and SQLite refused the upgrade at once whenever another review had committed in between
(docs/operations.md). The runs still finished, on the client's retries of the 503s. Once that was
fixed, a stop of the server right after the last run could still print the task-run recorder's
cancelled write ("Error flushing 1 events"); the server now waits for its database to go quiet
before it stops. The script's own output carries the server's (the server process inherits it),
so reading it sees what a user would see.

Runs once (`pytest -m burst`, as .ci/run does; `make test` leaves it out): about a minute on two
cores (1.5 minutes before the fix), with the short volume stage (20 requests/s for 1 s).
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.test_demo import clean_env, run_alone

pytestmark = pytest.mark.burst


def test_twenty_submissions_at_once_all_finish_and_print_no_traceback(tmp_path):
    env = clean_env(tmp_path, PYTHONUNBUFFERED="1")
    done, left = run_alone(
        ["--burst", "--submissions", "20", "--compare", "0", "--full-volume", "0"],
        env,
        timeout=420,
        command=[sys.executable, str(ROOT / "bench" / "review.py")],
    )
    output = done.stdout + done.stderr
    (tmp_path / "burst.log").write_text(output)
    summary = "\n".join(line for line in output.splitlines() if not line.startswith((" ", "\t")))[-4000:]
    tracebacks = output.count("Traceback (most recent call last)")
    assert tracebacks == 0, f"{tracebacks} traceback(s) printed; output without their frames:\n{summary}"
    assert "database is locked" not in output, summary
    assert "reviewer retries" not in output and "could not decide" not in output, summary
    assert done.returncode == 0, summary
    finished = re.search(r"throughput: (\d+) of (\d+) reviews finished", done.stdout)
    assert finished and finished.groups() == ("20", "20"), summary
    assert "final flow-run states {'COMPLETED': 20}" in done.stdout, summary
    assert left == [], f"processes outlived the burst: {left}"
