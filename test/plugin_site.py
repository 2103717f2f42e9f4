"""A distribution installed in miniature, for the plug-in tests: its modules and the entry-point
registration pip would write (a dist-info directory with METADATA and entry_points.txt), in a
directory that goes on sys.path or PYTHONPATH. Entry points are how a real plug-in registers."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path


def install_distribution(site: Path, name: str, group: str, entries: dict[str, str],
                         modules: dict[str, str] | None = None) -> Path:
    """Write modules (file name -> source) and `name`'s dist-info registering entries (entry-point
    name -> "module:attribute") in group; returns the entry_points.txt."""
    site.mkdir(parents=True, exist_ok=True)
    for file_name, source in (modules or {}).items():
        (site / file_name).write_text(textwrap.dedent(source))
    dist = site / f"{name.replace('-', '_')}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    registration = dist / "entry_points.txt"
    registration.write_text(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    return registration


def env_with(site: Path | None) -> dict[str, str]:
    """This process's environment, with site first on PYTHONPATH (None: unchanged)."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = f"{site}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env
