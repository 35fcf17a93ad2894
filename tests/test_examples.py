"""The bundled instances ship with the package; ``optimizer examples`` lists
and copies them; ``optimizer template`` writes a blank or a filled workbook.

The instances live once, in ``optimizer/data/NAME`` (package data);
``instances/NAME`` in the repository is a link to the same folder. A wheel
built from the sources holds all of them, and the package installed from it
(not in editable mode) lists, copies and solves them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import optimizer
from optimizer.cli import main
from optimizer.examples import bundled, data_dir

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["north-america", "north-america-build", "eu-storage", "us-defense", "teaching"]


def package_files() -> list[str]:
    """Every file under optimizer/data, relative to the package."""
    pkg = ROOT / "optimizer"
    return sorted(str(p.relative_to(pkg)) for p in (pkg / "data").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


# --------------------------------------------------------------------------- one copy
def test_each_instance_is_kept_once():
    assert [e["name"] for e in bundled()] == NAMES
    assert sorted(p.name for p in data_dir().iterdir() if p.is_dir()) == sorted(NAMES)
    for name in NAMES:
        link = ROOT / "instances" / name
        # instances/NAME is the documented path: a link to the package's copy
        assert link.is_symlink()
        assert link.resolve() == (ROOT / "optimizer" / "data" / name).resolve()
        assert (link / "instance.yaml").is_file()
        # the package's copy holds real files (a wheel holds no links)
        assert not any(p.is_symlink() for p in (ROOT / "optimizer" / "data" / name).iterdir())
    assert optimizer.default_instance_path().resolve() == \
        (ROOT / "optimizer" / "data" / "north-america" / "instance.yaml").resolve()


def test_package_data_covers_every_bundled_file():
    """pyproject's package-data patterns (globbed as setuptools does) take in
    every file of every bundled instance, and the list of them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["optimizer"]
    pkg = ROOT / "optimizer"
    matched = {str(p.relative_to(pkg)) for pattern in patterns for p in pkg.glob(pattern)
               if p.is_file()}
    files = package_files()
    assert "data/examples.yaml" in files
    for name in NAMES:
        assert f"data/{name}/instance.yaml" in files
    assert sorted(set(files) - matched) == []


@pytest.mark.slow
def test_wheel_holds_and_serves_every_instance(tmp_path):
    """Build a wheel from the sources, unpack it as an installed package, and
    list, copy and solve the instances from there (no editable install)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(["cp", "-rL", str(ROOT / "optimizer"), str(src / "optimizer")], check=True)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                            "--quiet", "-w", str(tmp_path / "wheel")],
                           capture_output=True, text=True, timeout=600)
    if built.returncode != 0 and any(s in built.stderr for s in (
            "Failed to establish", "No matching distribution", "Could not find a version")):
        pytest.skip(f"no network to fetch the build backend: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for f in package_files():
        assert f"optimizer/{f}" in names, f
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}
    code = ("import optimizer, sys; print(optimizer.__file__); "
            "print(optimizer.default_instance_path()); "
            "from optimizer.cli import main; sys.exit(main(sys.argv[1:]))")
    listed = subprocess.run([sys.executable, "-c", code, "examples"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(str(site)) and lines[1].startswith(str(site))
    for name in NAMES:
        assert name in listed.stdout
    copy = tmp_path / "mine"
    copied = subprocess.run([sys.executable, "-c", code, "examples", "us-defense", "--to",
                             str(copy)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert copied.returncode == 0, copied.stderr
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        p.name for p in (ROOT / "optimizer" / "data" / "us-defense").iterdir())
    solved = subprocess.run([sys.executable, "-c", code, "solve", "--no-analysis"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert solved.returncode == 0, solved.stderr
    assert "total cost: USD 11,945.1 million" in solved.stdout


# --------------------------------------------------------------------------- examples
def test_examples_lists_them_with_their_question(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    index = yaml.safe_load((data_dir() / "examples.yaml").read_text(encoding="utf-8"))
    for entry in index:
        assert entry["name"] in out
        assert " ".join(entry["question"].split()) in " ".join(out.split())
    assert "north-america (default)" in out
    assert "optimizer examples NAME [--to DIR]" in out


def test_examples_copies_one_that_solves(tmp_path, capsys):
    dest = tmp_path / "start" / "here"
    assert main(["examples", "teaching", "--to", str(dest)]) == 0
    assert [p.name for p in dest.iterdir()] == ["instance.yaml"]
    assert (dest / "instance.yaml").read_bytes() == \
        (ROOT / "instances" / "teaching" / "instance.yaml").read_bytes()
    out = capsys.readouterr().out
    assert f"optimizer solve {dest / 'instance.yaml'}" in " ".join(out.split())
    assert optimizer.solve(dest / "instance.yaml").objective == pytest.approx(3638)
    # nothing of the copy's staging folder is left beside it
    assert [p.name for p in dest.parent.iterdir()] == ["here"]


def test_examples_copies_csv_tables_and_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["examples", "eu-storage"]) == 0     # default: ./NAME
    dest = tmp_path / "eu-storage"
    original = ROOT / "instances" / "eu-storage"
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in original.iterdir())
    assert "SOURCES.md" in {p.name for p in dest.iterdir()}
    for p in original.iterdir():
        assert (dest / p.name).read_bytes() == p.read_bytes()
        assert not (dest / p.name).is_symlink()
    copied = optimizer.load_instance(dest / "instance.yaml")
    assert copied.to_dict() == optimizer.load_instance(original / "instance.yaml").to_dict()


def test_examples_refuses_what_it_cannot_do(tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    assert main(["examples", "teaching", "--to", str(full)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["examples", "teaching", "--to", str(empty)]) == 0  # an empty folder will do
    assert main(["examples", "north-americ"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'north-america'" in err
    assert main(["examples", "--to", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- template
def test_blank_template_says_it_needs_filling(tmp_path, capsys):
    path = tmp_path / "plan.xlsx"
    assert main(["template", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "a blank workbook to fill in" in out
    assert f"optimizer validate {path} lists what is still missing (7 problems" in out
    assert "--example" in out
    # validating it as it is: exit 2, every missing piece, and what the file is
    assert main(["validate", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path} is a blank template: every table is empty" in err
    assert "7 problems in the input" in err
    assert "table 'suppliers': has no rows" in err


def test_validate_does_not_call_a_filled_workbook_blank(tmp_path, capsys):
    path = tmp_path / "plan.xlsx"
    assert main(["template", str(path), "--example"]) == 0
    from openpyxl import load_workbook

    wb = load_workbook(path)
    sheet = wb["suppliers"]
    price = next(c.column for c in sheet[1] if c.value == "price")
    sheet.cell(row=2, column=price, value="cheap")    # a bad price in a filled workbook
    wb.save(path)
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "blank template" not in err and "suppliers!" in err


def test_template_example_validates_and_solves(tmp_path, capsys):
    path = tmp_path / "example.xlsx"
    assert main(["template", str(path), "--example"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "the bundled instance 'teaching'" in out
    assert main(["validate", str(path)]) == 0
    assert "4 suppliers, 2 applications, 2 periods, 3 rules" in \
        " ".join(capsys.readouterr().out.split())
    res = optimizer.solve(path)
    assert res.status == "optimal" and res.objective == pytest.approx(3638)  # as by hand
    assert main(["template", str(path), "--example"]) == 2            # exists
    assert main(["template", str(path), "--example", "eu-storage", "--force"]) == 0
    assert len(optimizer.load_instance(path).suppliers) == 14
    assert main(["template", str(tmp_path / "x.xlsx"), "--example", "nope"]) == 2


# --------------------------------------------------------------------------- notebooks
def test_notebooks_extra_has_what_the_notebook_tests_import():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = config["project"]["optional-dependencies"]["notebooks"]
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip().lower().replace("-", "_")
             for r in extra}
    tree = ast.parse((ROOT / "tests" / "test_notebooks.py").read_text(encoding="utf-8"))
    imported = {(n.module or "").split(".")[0] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom)}
    imported |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names}
    third_party = imported - set(sys.stdlib_module_names) - {"pytest", "tests", "optimizer",
                                                              "__future__"}
    assert third_party <= names, third_party - names
    assert {"jupyterlab", "ipykernel"} <= names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[notebooks]"' in readme
