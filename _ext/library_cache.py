"""Run the chapters again when the library they import changes.

The execution cache matches a notebook by its code cells. The chapters import `miniflow`, so an edit
to the library changes their outputs without changing their code, and the cache would keep showing
the old outputs. A fingerprint of the files in `execution_cache_depends` is kept in the cache folder;
when it differs, the cache is emptied before any chapter is read.
"""
import hashlib
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
STAMP = "library.sha256"


def _fingerprint(root, patterns):
    digest = hashlib.sha256()
    for path in sorted({p for pattern in patterns for p in Path(root).glob(pattern) if p.is_file()}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def refresh_cache(app):
    config = getattr(app.env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache" or not app.config.execution_cache_depends:
        return
    cache = Path(config.execution_cache_path)
    fingerprint = _fingerprint(app.srcdir, app.config.execution_cache_depends)
    stamp = cache / STAMP
    if cache.is_dir() and (not stamp.is_file() or stamp.read_text() != fingerprint):
        logger.info(f"library_cache: {', '.join(app.config.execution_cache_depends)} changed; "
                    "emptying the execution cache so every chapter runs again")
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)


def setup(app):
    app.add_config_value("execution_cache_depends", [], "env")
    app.connect("builder-inited", refresh_cache, priority=900)   # after myst-nb has set the cache path
    return {"parallel_read_safe": True, "parallel_write_safe": True}
