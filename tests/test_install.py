"""The install path: every dependency pinned in constraints.txt, and every installer using it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]


def pins() -> dict[str, Version]:
    pinned: dict[str, Version] = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not an exact pin (NAME==VERSION)"
        pinned[canonicalize_name(name)] = Version(version)
    return pinned


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    stale = []
    for requirement in declared():
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (pinned: {version or 'nothing'})")
    assert not stale, "constraints.txt is out of date with pyproject.toml; run `make lock`: " + (
        ", ".join(stale)
    )


def test_torch_is_pinned_without_a_build_tag() -> None:
    # `torch==2.13.0` is met by the CPU wheel here and the CUDA wheel in the GPU image;
    # `torch==2.13.0+cpu` would refuse the latter.
    assert pins()[canonicalize_name("torch")].local is None


def test_every_installer_takes_the_constraints() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PIP_INSTALL = .*--constraint \$\(CONSTRAINTS\)", makefile, re.M)
    installs = re.findall(r"^\t(.*pip install.*)$", makefile, re.M)
    # The lock target alone resolves afresh: that is its job.
    unconstrained = [line for line in installs if "LOCK_VENV" not in line]
    assert unconstrained == [], unconstrained
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    project_installs = re.findall(
        r"^RUN pip install (?!--index-url).*\"\.\[neural\]\"$", dockerfile, re.M
    )
    assert len(project_installs) == 2
    assert all("--constraint constraints.txt" in line for line in project_installs)
    assert "COPY constraints.txt" in dockerfile
    assert "constraints.txt" not in (REPO / ".dockerignore").read_text(encoding="utf-8").split()
