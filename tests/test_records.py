"""What grading found, kept beside the gradebook: unchanged submissions are skipped, one grader per assignment."""
import pytest

from miniflow_grader.records import Busy, Records


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/gradebook.db"


def test_only_new_or_changed_submissions_are_pending(url):
    records = Records(url)
    records.setup()
    assert records.pending("ps1", {"bob": "b1", "alice": "a1"}) == ["alice", "bob"]
    records.finish("ps1", "alice", "a1", "tcp://127.0.0.1:1234", {"score": 6})
    assert records.pending("ps1", {"bob": "b1", "alice": "a1"}) == ["bob"]
    assert records.pending("ps1", {"bob": "b1", "alice": "a2"}) == ["alice", "bob"]      # alice changed
    assert records.pending("ps1", {"bob": "b1", "alice": "a1"}, force=True) == ["alice", "bob"]
    assert records.pending("ps2", {"alice": "a1"}) == ["alice"]                          # another assignment
    records.finish("ps1", "alice", "a2", "tcp://127.0.0.1:1234", {"score": 3})
    (row,) = records.rows("ps1")
    assert (row["student"], row["fingerprint"], row["times_graded"], row["worker"]) == \
        ("alice", "a2", 2, "tcp://127.0.0.1:1234")
    records.close()


def test_one_grader_at_a_time_per_assignment(url):
    first, second = Records(url), Records(url)
    first.setup()
    first.exclusive("ps1")
    with pytest.raises(Busy, match="another grader is grading ps1"):
        second.exclusive("ps1")
    second.exclusive("ps2")                     # another assignment is free
    second.release()
    first.close()                               # the lock goes with the grader
    second.exclusive("ps1")
    second.close()


def test_the_secret_is_made_once_and_kept(url):
    records = Records(url)
    records.setup()
    secret = records.secret()
    assert len(secret) == 64 and Records(url).secret() == secret
    records.close()
