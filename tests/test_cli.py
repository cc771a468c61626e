"""The command line, run as a user runs it: in a subprocess."""

import subprocess
import sys

import wavesparse


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "wavesparse", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_version():
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == "wavesparse %s" % wavesparse.__version__


def test_devices_lists_the_device(cl_session):
    done = run("devices")
    assert done.returncode == 0, done.stderr
    assert cl_session.device.name in done.stdout
    assert "wavefront" in done.stdout and "Chosen device" in done.stdout


def test_devices_without_opencl_says_why_and_exits_0():
    import os
    env = dict(os.environ, WAVESPARSE_OPENCL_LIBRARY="/nonexistent/libOpenCL.so.1")
    done = run("devices", env=env)
    assert done.returncode == 0, done.stderr
    assert "No OpenCL" in done.stdout and "/nonexistent/libOpenCL.so.1" in done.stdout
    assert "CPU backend" in done.stdout


def test_no_command_prints_help():
    done = run()
    assert done.returncode == 0 and "devices" in done.stdout
