"""What a sandbox can see: an allow-list of read-only mounts, and the command that builds it.

Nothing of the host is visible unless it is listed here:

- the system's programs and libraries (`/usr/bin`, `/usr/lib`, `/usr/lib64`,
  `/usr/share`, and `/bin`, `/lib`, `/lib64`, `/sbin` as the host has them);
- the Python interpreter and its libraries, wherever they live (`sys.prefix`,
  `sys.base_prefix`, the interpreter's own prefix, and site-packages folders on
  `sys.path`), but never the folder the grader was started from;
- the job's own folders (the stubbed library, the notebook, the spec), and a
  minimal `/etc` written by the grader (no passwords, no host configuration).

Everything else (home directories, `/root`, `/srv`, `/opt`, `/var`, other
checkouts of the repository, the course, the grader's scratch and other jobs)
does not exist inside. The only writable places are `/tmp` and `/dev/shm`,
each a tmpfs of bounded size.

The learner's kernel runs as uid 1000 inside, with no capabilities. Outside,
it is the grader's own user, or, when the grader runs as root, `nobody`: a
root-only file stays unreadable even if some mount exposed it. Because `nobody`
may not be able to traverse the folders the interpreter or the job live in
(a pyenv under `/root` is mode 700), root first binds every source into a
private mount namespace (`unshare --mount`) under a fresh tmpfs, and bwrap,
started as `nobody` by `setpriv`, mounts them from there.
"""
import os
import shutil
import site
import sys
from pathlib import Path

NOBODY = 65534
INSIDE_UID = 1000
INSIDE = "/tmp/grade"        # where the job appears inside the sandbox
SYSTEM_DIRS = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share")
TOP_LINKS = ("/bin", "/lib", "/lib64", "/sbin")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime")

# as root: join the cgroups, bind every source under a private tmpfs, then drop to nobody and start bwrap
# (this shell waits for it: its command line names the job's folders, so a leftover sandbox can be found)
STAGE_SCRIPT = r'''
set -e
pids=$1; memory=$2; stage=$3; shift 3
[ -z "$pids" ] || echo $$ > "$pids/cgroup.procs"
[ -z "$memory" ] || echo $$ > "$memory/cgroup.procs"
mount -t tmpfs -o mode=755,size=1m miniflow-sandbox "$stage"
i=0
while [ "$1" != "--" ]; do
    if [ -d "$1" ]; then mkdir "$stage/$i"; else : > "$stage/$i"; fi
    mount --bind "$1" "$stage/$i"
    i=$((i + 1))
    shift
done
shift
"$@"
'''


def python_roots():
    """The folders the interpreter and its libraries live in (each only once, outermost kept)."""
    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    for entry in sys.path + [site.getusersitepackages()]:
        path = Path(entry)
        if path.name in ("site-packages", "dist-packages") and path.is_dir():
            candidates.add(path)
    roots = []
    for path in sorted({Path(os.path.realpath(p)) for p in candidates if Path(p).exists()}, key=lambda p: len(p.parts)):
        if str(path) in ("/", "/usr") or any(path.is_relative_to(r) for r in roots):
            continue       # /usr is covered by SYSTEM_DIRS, and / is never mounted
        roots.append(path)
    return roots


def system_entries():
    """[("bind", path) or ("symlink", target, path)] for the system's programs and libraries."""
    entries = []
    for top in TOP_LINKS:
        if os.path.islink(top):
            entries.append(("symlink", os.readlink(top), top))
        elif os.path.isdir(top):
            entries.append(("bind", top))
    entries += [("bind", d) for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    return entries


def write_etc(folder):
    """A minimal /etc for the sandbox: who the learner is, localhost, and the loader's cache."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"learner:x:{INSIDE_UID}:{INSIDE_UID}:learner:/tmp/home:/bin/sh\n"
                                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"learner:x:{INSIDE_UID}:\nnogroup:x:65534:\n")
    (folder / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    (folder / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
    for name in ETC_FILES:
        source = Path("/etc") / name
        if source.is_file() and not (folder / name).exists():
            shutil.copyfile(source, folder / name)
    for path in [folder, *folder.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return folder


def stage_dir():
    """An existing folder of the host that a private mount namespace may cover with its own tmpfs."""
    for candidate in ("/mnt", "/media", "/srv", "/opt", "/run"):
        if os.path.isdir(candidate) and not os.path.islink(candidate):
            return candidate
    return None


def tools_missing(as_root):
    """The programs the sandbox needs that are not installed, as names."""
    needed = ["bwrap"] + (["unshare", "setpriv", "mount"] if as_root else [])
    return [tool for tool in needed if shutil.which(tool) is None]


class MountPlan:
    """The read-only binds of one sandbox, (host source, path inside), and its symlinks."""

    def __init__(self, etc, lib, work, out, hidden=()):
        self.symlinks = []
        self.binds = []
        for entry in system_entries():
            if entry[0] == "symlink":
                self.symlinks.append((entry[1], entry[2]))
            else:
                self.binds.append((entry[1], entry[1]))
        roots = python_roots()
        self.binds += [(str(root), str(root)) for root in roots]
        # what must not be seen even where it lies inside the interpreter's folders (miniflow installed
        # into site-packages, a course inside the environment): covered by an empty, read-only tmpfs
        self.hidden = sorted({str(Path(h).resolve()) for h in hidden
                              if any(Path(h).resolve().is_relative_to(r) for r in roots)})
        self.binds += [(str(etc), "/etc"), (str(lib), f"{INSIDE}/lib"), (str(work), f"{INSIDE}/src"),
                       (str(out), f"{INSIDE}/out")]

    def bwrap_args(self, limits, staged=None):
        """bubblewrap's arguments; `staged` is the folder the sources were bound under (as root), or None."""
        args = ["--unshare-all", "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID),
                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--dev", "/dev", "--proc", "/proc",
                "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
                "--remount-ro", "/dev",
                "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        # the binds come after the tmpfs mounts, so that an interpreter that lives under /tmp stays visible
        for index, (source, inside) in enumerate(self.binds):
            args += ["--ro-bind", f"{staged}/{index}" if staged else source, inside]
        for path in self.hidden:
            args += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        for target, inside in self.symlinks:
            args += ["--symlink", target, inside]
        return args + ["--dir", "/tmp/home", "--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]

    def command(self, bwrap, limits, env, program, as_root, cgroup=None):
        """The argv that starts `program` (a list) in this sandbox with `env`."""
        tail = []
        for key, value in env.items():
            tail += ["--setenv", key, value]
        if not as_root:
            return [bwrap] + self.bwrap_args(limits) + tail + program
        staged = stage_dir()
        pids, memory = cgroup if cgroup is not None else (None, None)
        # the shell dies with the grader (pdeathsig), and bwrap with the shell (--die-with-parent)
        return (["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--mount", "--", "/bin/sh", "-c", STAGE_SCRIPT, "sh",
                 str(pids or ""), str(memory or ""), staged]
                + [source for source, _ in self.binds] + ["--"]
                + ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
                   bwrap] + self.bwrap_args(limits, staged) + tail + program)
