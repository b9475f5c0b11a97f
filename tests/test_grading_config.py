"""nbgrader's configuration as the grader reads it, what of it decides a grade, id maps and timestamps.

Fast: no sandbox and no kernel; each case writes its own config folders.
"""
import datetime
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from miniflow_grader import intake
from miniflow_grader.config import grading_digest, late_plugin, late_policy_digest, late_policy_text, load_config
from miniflow_grader.feedback import how_long, late_note
from miniflow_grader.submissions import IdMapProblem, read_id_map

POLICY = '''\
from nbgrader.plugins import LateSubmissionPlugin


class Halve(LateSubmissionPlugin):
    """half the score, however late"""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return score / {divisor}


c = get_config()
c.AssignLatePenalties.plugin_class = Halve
c.Execute.timeout = 7
c.Exchange.root = "/srv/exchange"
'''


@pytest.fixture
def folders(tmp_path, monkeypatch):
    course, user = tmp_path / "course", tmp_path / "user"
    course.mkdir()
    user.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(user))
    monkeypatch.delenv("MINIFLOW_GRADEBOOK_URL", raising=False)
    saved = list(sys.path)
    yield course, user
    sys.path[:] = saved


def test_the_config_path_is_read_as_nbgrader_reads_it_with_the_course_file_last(folders):
    course, user = folders
    (user / "nbgrader_config.py").write_text(POLICY.format(divisor=2))
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.Execute.timeout = 9\n')
    config = load_config(course)
    assert late_plugin(config).__name__ == "Halve"           # from the user's folder
    assert config.Execute.timeout == 9                       # the course's file wins
    assert config.CourseDirectory.root == str(course.resolve())
    assert late_policy_text(config) == "half the score, however late"
    # what nbgrader itself reads from the same folders
    shown = subprocess.run([sys.executable, "-c", "from nbgrader.apps.autogradeapp import AutogradeApp as A; "
                            "a = A(); a.initialize([]); print(a.config.AssignLatePenalties.plugin_class.__name__, "
                            "a.config.Execute.timeout)"], cwd=course, env=dict(os.environ), capture_output=True,
                           text=True, timeout=120)
    assert shown.stdout.split() == ["Halve", "9"], shown.stderr[-2000:]


def test_what_decides_a_grade_is_in_the_digests_and_what_does_not_is_not(folders):
    course, user = folders
    (course / "nbgrader_config.py").write_text('c = get_config()\n')

    def digests(policy, course_text='c = get_config()\n'):
        (user / "nbgrader_config.py").write_text(policy)
        (course / "nbgrader_config.py").write_text(course_text)
        config = load_config(course)
        return grading_digest(config), late_policy_digest(config)

    base = digests(POLICY.format(divisor=2))
    assert digests(POLICY.format(divisor=2)) == base
    other_policy = digests(POLICY.format(divisor=3))               # the plugin's code changed
    assert other_policy[0] == base[0] and other_policy[1] != base[1]
    moved_exchange = digests(POLICY.format(divisor=2).replace("/srv/exchange", "/srv/other"))
    assert moved_exchange == base
    longer_cells = digests(POLICY.format(divisor=2).replace("timeout = 7", "timeout = 8"), 'c = get_config()\n')
    assert longer_cells[0] != base[0]
    output = digests(POLICY.format(divisor=2), 'c = get_config()\nc.LimitOutput.max_lines = 10\n')
    assert output[0] != base[0] and output[1] == base[1]
    zero = digests(POLICY.format(divisor=2), 'c = get_config()\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    assert zero[0] == base[0] and zero[1] != base[1]


def test_an_execute_step_of_the_instructors_own_is_replaced_too(folders):
    from nbgrader.preprocessors import Execute
    from miniflow_grader.nbgrader_steps import InjectResults, sandboxed_preprocessors

    class MyExecute(Execute):
        pass

    steps = sandboxed_preprocessors(["nbgrader.preprocessors.ClearOutput", MyExecute,
                                     "nbconvert.preprocessors.ExecutePreprocessor"])
    assert steps[1:] == [InjectResults, InjectResults]
    with pytest.raises(ValueError, match="no Execute step"):
        sandboxed_preprocessors(["nbgrader.preprocessors.ClearOutput"])


def test_an_id_map_is_read_as_nbgrader_db_student_import_reads_it(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,lms_user_id,first_name\nivan petrov,u123,Ivan\nZoë,u/../9,Zoë\n\n", encoding="utf-8")
    assert read_id_map(path) == {"u123": "ivan petrov", "u/../9": "Zoë"}
    for text, phrase in (("lms_user_id,name\nu1,ann\n", "columns lms_user_id and id"),
                         ("lms_user_id,id\nu1,[a]nn\n", "line 2"), ("lms_user_id,id\nu1,ann\nu1,bob\n", "twice"),
                         ("lms_user_id,id\n,ann\n", "empty")):
        path.write_text(text)
        with pytest.raises(IdMapProblem, match=phrase.replace("[", r"\[")):
            read_id_map(path)


@pytest.mark.parametrize("text, ok", [
    ("2026-01-10 12:00:00.000000 UTC", True), ("2026-01-10 12:00:00.123456 CEST", True),
    ("2026-01-10T12:00:00+01:00", True), ("", True), ("2026-01-10 12:00:00 /etc/localtime", False),
    ("2026-01-10 12:00:00 ../../x", False), ("2026-01-10 12:00:00 :UTC", False), ("not a date", False),
    ("2026-01-10 12:00:00 " + "A" * 200, False),
])
def test_only_timestamps_in_a_form_nbgrader_writes_are_read(text, ok):
    assert (intake.timestamp_problem(text.encode()) is None) == ok


def test_only_secrets_as_submit_writes_them_are_kept():
    import secrets
    assert intake.valid_secret(secrets.token_hex(64).encode())
    for bad in (b"", b"ab" * 63, b"AB" * 64, b"ab" * 64 + b"\n", b"../../etc/passwd", None):
        assert not intake.valid_secret(bad)


def test_the_late_note_says_when_how_late_the_policy_and_the_points():
    due = datetime.datetime(2026, 1, 10, 12)
    submission = SimpleNamespace(total_seconds_late=90061.0, extension=datetime.timedelta(days=1),
                                 duedate=due + datetime.timedelta(days=1), timestamp=due + datetime.timedelta(
                                     days=2, hours=1, minutes=1, seconds=1))
    text = late_note(submission, 1.2, 4.8, 6.0, "10% <b>per</b> day")
    assert "Submitted 2026-01-12 13:01 UTC, 1 day 1 hour 1 minute after the due date" in text
    assert "with an extension of 1 day" in text and "10% &lt;b&gt;per&lt;/b&gt; day" in text
    assert "Penalty: 1.2 points" in text and "scores 4.8 of 6 (6 before the penalty)" in text
    assert late_note(SimpleNamespace(total_seconds_late=0), 0, 6, 6, None) is None
    assert how_long(40) == "40 seconds" and how_long(3600) == "1 hour"
