"""What grading found, kept in the gradebook's own database, beside nbgrader's tables.

One row per (assignment, student): the fingerprint of what was graded (the
submitted files and the assignment's source), which machine ran it, how many
times it was graded, and what grading found (for the report). A submission
whose fingerprint is unchanged since it was graded is not graded again, so a
grader that was interrupted and is started again grades only what is left.

One grader coordinates an assignment at a time (it can use many machines, see
engines.py): `exclusive` holds a lock for the run, a PostgreSQL advisory lock
or, for an SQLite gradebook, a lock on a file beside it, and refuses to start
while another grader holds it.
"""
import fcntl
import hashlib
import json
import os
import secrets
import time

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select, text
from sqlalchemy.exc import IntegrityError

metadata = MetaData()
results = Table(
    "miniflow_results", metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("worker", String(256)),                        # the machine (Dask worker) that ran its sandboxes
    Column("finished_at", Float),
    Column("times_graded", Integer, nullable=False, default=0),
    Column("info", Text),                                 # JSON: score, parts, limits hit, notes
)
meta = Table(
    "miniflow_grading_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


class Busy(RuntimeError):
    """Another grader is grading this assignment on this gradebook."""


def _lock_number(assignment):
    return int.from_bytes(hashlib.sha256(b"miniflow-grade\0" + assignment.encode()).digest()[:8], "big") >> 1


class Records:
    def __init__(self, db_url):
        self.db_url = db_url
        self.engine = create_engine(db_url, future=True, pool_pre_ping=True)
        self.postgres = self.engine.dialect.name == "postgresql"
        self._held = None

    def setup(self, first=None):
        """Create the tables, after `first()` (nbgrader's own: it stamps only a database with no tables)."""
        with self.engine.connect() as conn:
            if self.postgres:
                conn.execute(text("SELECT pg_advisory_lock(4242017)"))
            try:
                if first is not None:
                    first()
                metadata.create_all(self.engine)
            finally:
                if self.postgres:
                    conn.execute(text("SELECT pg_advisory_unlock(4242017)"))
                conn.commit()

    # --- one grader per assignment ---------------------------------------------------

    def exclusive(self, assignment):
        """Take the assignment's grading lock for this process, or raise Busy."""
        if self.postgres:
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:n)"), {"n": _lock_number(assignment)}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise Busy(f"another grader is grading {assignment} on this gradebook; wait for it to finish "
                           "(to grade faster, give one grader more machines: --scheduler)")
            self._held = ("postgres", conn)
            return
        path = self._lock_path(assignment)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Busy(f"another grader is grading {assignment} on this gradebook (it holds {path}); "
                       "wait for it to finish") from None
        self._held = ("file", fd)

    def _lock_path(self, assignment):
        database = self.engine.url.database
        folder = os.path.dirname(os.path.abspath(database)) if database and database != ":memory:" else "/tmp"
        name = hashlib.sha256(f"{self.db_url}\0{assignment}".encode()).hexdigest()[:16]
        return os.path.join(folder, f".miniflow-grading-{name}.lock")

    def release(self):
        if self._held is None:
            return
        kind, handle = self._held
        self._held = None
        if kind == "postgres":
            handle.close()          # the session's advisory locks go with it
        else:
            os.close(handle)

    # --- the course's secret ---------------------------------------------------------

    def secret(self):
        """The course's grading secret: seeds are derived from it, so learners cannot predict them."""
        with self.engine.begin() as conn:
            row = conn.execute(select(meta.c.value).where(meta.c.key == "seed_secret")).first()
            if row:
                return row[0]
        try:
            with self.engine.begin() as conn:
                conn.execute(meta.insert().values(key="seed_secret", value=secrets.token_hex(32)))
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            return conn.execute(select(meta.c.value).where(meta.c.key == "seed_secret")).scalar_one()

    # --- results ---------------------------------------------------------------------

    def pending(self, assignment, fingerprints, force=False):
        """The students of {student: fingerprint} not yet graded as they are now, in order."""
        done = {r.student: r.fingerprint for r in self._select(assignment)}
        return [s for s in sorted(fingerprints) if force or done.get(s) != fingerprints[s]]

    def finish(self, assignment, student, fingerprint, worker, info):
        """Record one graded submission (once per grading: the gradebook was written just before)."""
        values = dict(fingerprint=fingerprint, worker=worker, finished_at=time.time(),
                      info=json.dumps(info, sort_keys=True))
        with self.engine.begin() as conn:
            row = conn.execute(select(results.c.times_graded).where(
                (results.c.assignment == assignment) & (results.c.student == student))).first()
            if row is None:
                conn.execute(results.insert().values(assignment=assignment, student=student, times_graded=1,
                                                     **values))
            else:
                conn.execute(results.update().where(
                    (results.c.assignment == assignment) & (results.c.student == student)
                ).values(times_graded=results.c.times_graded + 1, **values))

    def rows(self, assignment):
        return [dict(r._mapping) for r in self._select(assignment)]

    def _select(self, assignment):
        with self.engine.begin() as conn:
            return list(conn.execute(select(results).where(results.c.assignment == assignment)
                                     .order_by(results.c.student)))

    def note_refused_ids(self, assignment, entries):
        """Keep the submissions refused for their id alone ([{"student", "detail"}]): no row can hold them."""
        key = "refused:" + hashlib.sha256(assignment.encode()).hexdigest()[:40]
        with self.engine.begin() as conn:
            conn.execute(meta.delete().where(meta.c.key == key))
            if entries:
                conn.execute(meta.insert().values(key=key, value=json.dumps(entries, sort_keys=True)))

    def refused_ids(self, assignment):
        key = "refused:" + hashlib.sha256(assignment.encode()).hexdigest()[:40]
        with self.engine.begin() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        return json.loads(value) if value else []

    def close(self):
        self.release()
        self.engine.dispose()
