"""OpenMP's wait policy: passive unless the user chose one, and the variable
is not left behind for other OpenMP runtimes."""

import os
import subprocess
import sys

import pytest

CODE = "import os, wavesparse; print('OMP_WAIT_POLICY' in os.environ)"


@pytest.mark.parametrize("chosen, shown", [(None, "PASSIVE"), ("active", "ACTIVE")])
def test_wait_policy_is_passive_unless_chosen(chosen, shown):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["OMP_DISPLAY_ENV"] = "TRUE"
    if chosen:
        env["OMP_WAIT_POLICY"] = chosen
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    display = done.stdout + done.stderr
    if "OMP_WAIT_POLICY" not in display:
        pytest.skip("this OpenMP runtime does not display its settings")
    assert "OMP_WAIT_POLICY = '%s'" % shown in display
    # Our choice is not left in the environment; the user's stays.
    assert done.stdout.strip().splitlines()[-1] == str(chosen is not None)
