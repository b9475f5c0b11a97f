"""Which grading process grades which submission, kept in the gradebook's own database.

One row per (assignment, student): the fingerprint of what was graded (the
submitted files and the assignment's source), its state, which worker holds or
held it, how many times it was graded, and what grading found (for the report).
Several processes, on one machine or several, share the table: a process takes
a pending submission with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL
(a conditional UPDATE elsewhere), so no submission is graded twice, and a
submission whose fingerprint is unchanged since it was graded is not graded again.
"""
import hashlib
import json
import secrets
import socket
import time
import os

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, create_engine, select, text,
                        update)
from sqlalchemy.exc import IntegrityError

metadata = MetaData()
grading = Table(
    "miniflow_grading", metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),          # pending, running, done
    Column("worker", String(256)),
    Column("claimed_at", Float),
    Column("finished_at", Float),
    Column("times_graded", Integer, nullable=False, default=0),
    Column("info", Text),                                 # JSON: limits hit, failure messages
)
meta = Table(
    "miniflow_grading_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def default_worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


class Claims:
    def __init__(self, db_url, worker=None, lease_seconds=3600):
        self.engine = create_engine(db_url, future=True, pool_pre_ping=True)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.worker = worker or default_worker_name()
        self.lease = lease_seconds

    def setup(self, first=None):
        """Create the tables, after `first()` (run under the same lock: graders may start together)."""
        with self._locked():
            if first is not None:
                first()
            metadata.create_all(self.engine)

    def _locked(self):
        """A transaction that, on PostgreSQL, holds a lock shared by all graders (for setup steps)."""
        engine, postgres = self.engine, self.postgres

        class _Lock:
            def __enter__(self_):
                self_.conn = engine.connect()
                if postgres:
                    self_.conn.execute(text("SELECT pg_advisory_lock(4242017)"))
                return self_.conn

            def __exit__(self_, *exc):
                try:
                    if postgres:
                        self_.conn.commit()
                        self_.conn.execute(text("SELECT pg_advisory_unlock(4242017)"))
                    self_.conn.commit()
                finally:
                    self_.conn.close()
        return _Lock()

    def locked(self):
        return self._locked()

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

    def register(self, assignment, fingerprints, force=False):
        """Record the current submissions ({student: fingerprint}); mark new or changed ones pending."""
        with self.engine.begin() as conn:
            rows = {r.student: r for r in conn.execute(
                select(grading).where(grading.c.assignment == assignment))}
            for student, fingerprint in sorted(fingerprints.items()):
                row = rows.get(student)
                if row is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(grading.insert().values(
                                assignment=assignment, student=student, fingerprint=fingerprint,
                                state="pending", times_graded=0))
                    except IntegrityError:
                        pass
                elif row.state != "running" and (force or row.fingerprint != fingerprint):
                    conn.execute(update(grading).where(
                        (grading.c.assignment == assignment) & (grading.c.student == student)
                        & (grading.c.state == row.state) & (grading.c.fingerprint == row.fingerprint)
                    ).values(fingerprint=fingerprint, state="pending"))

    def pending_count(self, assignment):
        with self.engine.begin() as conn:
            return len(conn.execute(select(grading.c.student).where(
                (grading.c.assignment == assignment) & (grading.c.state == "pending"))).all())

    def claim(self, assignment):
        """Take one pending (or abandoned) submission; return (student, fingerprint) or None."""
        stale = time.time() - self.lease
        available = (grading.c.assignment == assignment) & (
            (grading.c.state == "pending") | ((grading.c.state == "running") & (grading.c.claimed_at < stale)))
        while True:
            with self.engine.begin() as conn:
                query = select(grading.c.student, grading.c.fingerprint, grading.c.state).where(
                    available).order_by(grading.c.student).limit(1)
                if self.postgres:
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    return None
                taken = conn.execute(update(grading).where(
                    (grading.c.assignment == assignment) & (grading.c.student == row.student)
                    & (grading.c.state == row.state)
                ).values(state="running", worker=self.worker, claimed_at=time.time()))
                if taken.rowcount == 1:
                    return row.student, row.fingerprint

    def finish(self, assignment, student, info):
        with self.engine.begin() as conn:
            conn.execute(update(grading).where(
                (grading.c.assignment == assignment) & (grading.c.student == student)
                & (grading.c.worker == self.worker)
            ).values(state="done", finished_at=time.time(), info=json.dumps(info, sort_keys=True),
                     times_graded=grading.c.times_graded + 1))

    def release(self, assignment, student):
        """Give a claimed submission back (grading was interrupted)."""
        with self.engine.begin() as conn:
            conn.execute(update(grading).where(
                (grading.c.assignment == assignment) & (grading.c.student == student)
                & (grading.c.worker == self.worker) & (grading.c.state == "running")
            ).values(state="pending"))

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

    def rows(self, assignment):
        with self.engine.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(grading).where(grading.c.assignment == assignment).order_by(grading.c.student))]

    def close(self):
        self.engine.dispose()
