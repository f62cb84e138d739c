"""The package as it is installed: a wheel built from the source carries the agency configs, the Datasette
templates and the licence, and its metadata states the licence as an SPDX expression and admits the current
releases of the dependencies the pins used to exclude. Built offline, with the setuptools of the test extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "foiawatch", source / "foiawatch", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = source / "dist"
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta; "
                               "print(build_meta.build_wheel(sys.argv[1]))", str(dist)],
        cwd=source, capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stderr[-3000:]
    name = built.stdout.strip().splitlines()[-1]
    return zipfile.ZipFile(dist / name)


def test_the_wheel_carries_the_agency_configs_and_the_datasette_templates(wheel):
    names = set(wheel.namelist())
    configs = {path.name for path in (ROOT / "foiawatch" / "agencies").glob("*.toml")}
    assert {"ice.toml", "epa-hfstudy.toml", "demo.toml"} <= configs
    assert {f"foiawatch/agencies/{config}" for config in configs} <= names
    templates = [path.relative_to(ROOT).as_posix() for path in (ROOT / "foiawatch" / "datasette_config").rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts]
    assert any(path.endswith(".html") for path in templates) and "foiawatch/datasette_config/metadata.yaml" in names
    assert set(templates) <= names, sorted(set(templates) - names)


def test_the_wheel_states_its_licence_and_admits_current_releases(wheel):
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = HeaderParser().parsestr(wheel.read(metadata_name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    licence = [name for name in wheel.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
    assert licence and wheel.read(licence[0]) == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in (ROOT / "LICENSE").read_bytes()
    requires = {Requirement(line).name: Requirement(line) for line in metadata.get_all("Requires-Dist")
                if "extra ==" not in line}
    for package, release in {"pypdf": "7.1.1", "sqlite-utils": "4.2.1", "rich": "15.0.0"}.items():
        assert requires[package].specifier.contains(release), f"{package} {release} is excluded"
