"""A throwaway PostgreSQL server on 127.0.0.1, in a temporary data directory (Debian's `postgresql`)."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def binaries():
    """The directory holding initdb and pg_ctl: Debian keeps them off PATH, in /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server():
    """Start a server; yield its SQLAlchemy URL prefix (append a database name); stop it and delete everything."""
    bin_dir = binaries()
    base = Path(tempfile.mkdtemp(prefix="miniflow-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    as_user = []
    if os.geteuid() == 0:     # PostgreSQL refuses to run as root
        user = "postgres" if _has_user("postgres") else "nobody"
        record = pwd.getpwnam(user)
        for path in (base, sockets):
            os.chown(path, record.pw_uid, record.pw_gid)
        as_user = ["setpriv", f"--reuid={record.pw_uid}", f"--regid={record.pw_gid}", "--clear-groups", "--"]
    port = _free_port()
    run = lambda *argv: subprocess.run(as_user + [str(bin_dir / argv[0]), *argv[1:]], check=True,
                                       capture_output=True, cwd=base, timeout=120)
    run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    run("pg_ctl", "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "-o",
        f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=100", "start")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        try:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(base, ignore_errors=True)


def create_database(prefix, name):
    import sqlalchemy
    engine = sqlalchemy.create_engine(f"{prefix}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{prefix}/{name}"


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
