"""platform/requirements.lock agrees with pyproject.toml (fast; no network): refresh with `bash platform/lock.sh`."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+))?")


def _lock() -> tuple[dict[str, Version], dict[str, int], dict[str, set[str]]]:
    pins, hashes, via = {}, {}, {}
    current = None
    for line in (ROOT / "platform/requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match and match.group(3) and not Marker(match.group(3).strip()).evaluate():
            current = None  # a pin for another Python or platform (the lock is universal)
        elif match:
            current = canonicalize_name(match.group(1))
            pins[current] = Version(match.group(2))
            hashes[current], via[current] = 0, set()
        elif current and "--hash=sha256:" in line:
            hashes[current] += 1
        elif current and line.strip().startswith("#") and "pyproject.toml" in line:
            via[current].add("pyproject")
    return pins, hashes, via


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def test_every_requirement_is_pinned_with_hashes_in_a_version_it_allows():
    pins, hashes, _via = _lock()
    problems = []
    for req in _requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req.name}: not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}: locked {pins[name]} is outside {req.specifier}")
    assert not problems, "pyproject.toml and platform/requirements.lock disagree (run `bash platform/lock.sh`): " + "; ".join(problems)
    assert all(hashes.values()), f"pins without hashes: {[n for n, h in hashes.items() if not h]}"


def test_lock_has_no_direct_requirement_that_pyproject_dropped():
    _pins, _hashes, via = _lock()
    declared = {canonicalize_name(r.name) for r in _requirements()}
    stale = sorted(name for name, sources in via.items() if "pyproject" in sources and name not in declared)
    assert not stale, f"locked as direct requirements but gone from pyproject.toml: {stale} (run `bash platform/lock.sh`)"
