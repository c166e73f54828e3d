"""The repository root must not shadow the standard library's ``platform`` module."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_stdlib_platform_and_uuid_import_from_repo_root():
    out = subprocess.run(
        [sys.executable, "-c", "import platform, uuid; print(platform.system()); print(uuid.uuid4().version)"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    system, version = out.stdout.split()
    assert system == "Linux"
    assert version == "4"
    assert (ROOT / "platform").is_dir() and not (ROOT / "platform" / "__init__.py").exists()
