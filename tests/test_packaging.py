"""The installed package holds every file of the source tree that it must:
each .py module, each module built from a .pyx (with its .pyi stub), each
OpenCL kernel, and py.typed.  A file left out of a meson.build fails here,
for an editable install and for a regular one alike."""

import importlib
import importlib.machinery
from importlib import resources
from pathlib import Path

import pytest

from _helpers import TEST_ONLY_MODULES, load_test_only, require_torch

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "wavesparse"
KERNELS = ROOT / "kernels"


def module_name(path):
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PY_MODULES = sorted(module_name(p) for p in SOURCE.rglob("*.py"))
COMPILED = sorted(module_name(p) for p in SOURCE.rglob("*.pyx"))


def test_the_source_tree_is_found():
    assert "wavesparse.ops" in PY_MODULES and "wavesparse.opencl" in PY_MODULES
    assert "wavesparse._select" in COMPILED
    assert sorted(KERNELS.glob("*.cl"))


@pytest.mark.parametrize("name", PY_MODULES)
def test_python_module_is_installed(name):
    if name.startswith("wavesparse.torch"):
        require_torch()
    module = importlib.import_module(name)
    assert module.__spec__.origin.endswith(".py")


def import_compiled(name):
    if name in TEST_ONLY_MODULES:
        return load_test_only(name)
    return importlib.import_module(name)


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_module_is_installed_with_its_stub(name):
    module = import_compiled(name)
    origin = module.__spec__.origin
    assert origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), origin
    package, _, leaf = name.rpartition(".")
    assert (resources.files(package) / (leaf + ".pyi")).is_file()


@pytest.mark.parametrize("kernel", sorted(p.name for p in KERNELS.glob("*.cl")))
def test_kernel_is_installed(kernel):
    installed = resources.files("wavesparse") / "kernels" / kernel
    assert installed.read_text() == (KERNELS / kernel).read_text()


def test_typed_marker_ships():
    assert (resources.files("wavesparse") / "py.typed").is_file()
