"""The C helpers every CPU kernel uses (src/csrc/common.c), through the
test-only extension wavesparse._testing: statuses, thread splits, runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _helpers import layouts

COMMON_H = Path(__file__).resolve().parents[1] / "include" / "wavesparse" / "common.h"
# Below this many elements per thread a kernel adds no thread (common.c).
ELEMENTS_PER_THREAD = 1 << 16


def declared_statuses():
    enum = re.search(r"typedef enum ws_status \{(.*?)\} ws_status;",
                     COMMON_H.read_text(), re.S).group(1)
    return {name: int(value) for name, value in re.findall(r"(WS_\w+) = (-?\d+)", enum)}


def test_status_names_follow_the_header(hooks):
    declared = declared_statuses()
    assert len(declared) == 6
    assert hooks.status_codes() == declared
    for name, code in declared.items():
        assert hooks.status_name(code) == name
    for unknown in (1, -6, -1000):
        assert hooks.status_name(unknown) == "WS_UNKNOWN"


@pytest.mark.parametrize("name, error, message", [
    ("WS_ERR_NAN", ValueError, "w holds NaN"),
    ("WS_ERR_NOMEM", MemoryError, "scratch memory for w could not be allocated"),
    ("WS_ERR_RANGE", RuntimeError, "C kernel failed on w: WS_ERR_RANGE"),
    ("WS_ERR_ARGUMENT", RuntimeError, "C kernel failed on w: WS_ERR_ARGUMENT"),
    ("WS_ERR_OVERFLOW", RuntimeError, "C kernel failed on w: WS_ERR_OVERFLOW"),
])
def test_each_failing_status_raises_its_error(hooks, name, error, message):
    with pytest.raises(error, match=re.escape(message)):
        hooks.raise_for_status(declared_statuses()[name], "w")


def test_ok_raises_nothing_and_unknown_is_named(hooks):
    assert hooks.raise_for_status(0, "w") is None
    with pytest.raises(RuntimeError, match="WS_UNKNOWN"):
        hooks.raise_for_status(-99, "w")


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 1001, 65537])
@pytest.mark.parametrize("threads", [1, 2, 3, 7, 300])
def test_thread_ranges_split_like_array_split(hooks, n, threads):
    ranges = [hooks.thread_range(n, threads, t) for t in range(threads)]
    expected = np.array_split(np.arange(n), threads)
    assert [hi - lo for lo, hi in ranges] == [len(part) for part in expected]
    assert [lo for lo, _ in ranges] == [int(np.sum([len(p) for p in expected[:t]]))
                                        for t in range(threads)]


def test_thread_ranges_of_huge_counts(hooks):
    n, threads = 2**40 + 3, 7
    ranges = [hooks.thread_range(n, threads, t) for t in range(threads)]
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(ranges[t][1] == ranges[t + 1][0] for t in range(threads - 1))
    longer = n % threads  # 5: the first five take one element more
    assert [hi - lo for lo, hi in ranges] == \
        [n // threads + 1] * longer + [n // threads] * (threads - longer)
    with pytest.raises(ValueError, match="0 <= t < threads"):
        hooks.thread_range(10, 3, 3)


def test_threads_for_work(hooks):
    most = hooks.max_threads()
    for work in (0, 1, ELEMENTS_PER_THREAD - 1, ELEMENTS_PER_THREAD,
                 3 * ELEMENTS_PER_THREAD + 5, 10**12):
        assert hooks.threads_for(work) == max(1, min(work // ELEMENTS_PER_THREAD, most))


def test_max_threads_follows_omp_num_threads(hooks):
    # One thread while OMP_NUM_THREADS does not ask for one: no OpenMP.
    if hooks.max_threads() == 1 and os.environ.get("OMP_NUM_THREADS") != "1":
        pytest.skip("this build has no OpenMP: its kernels run on one thread")
    script = "from wavesparse import _testing; print(_testing.max_threads(), " \
             "_testing.threads_for(10**9))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="5"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5", "5"]


def expected_runs(arrays, position, end):
    """(array index, length) of each piece of a row inside [position, end)."""
    runs, start = [], 0
    for index, a in enumerate(arrays):
        rows, cols = a.shape
        for _ in range(rows):
            lo, hi = max(start, position), min(start + cols, end)
            if lo < hi:
                runs.append((index, hi - lo))
            start += cols
    return runs


def many_views():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((5, 4))
    arrays = list(layouts(base).values())
    arrays += [np.empty((0, 3)), np.float64([[7.5]]), np.empty((2, 0)),
               rng.standard_normal((3, 6))[:, ::-2]]
    return arrays


def test_runs_over_many_views(hooks):
    arrays = many_views()
    flat = np.concatenate([a.ravel() for a in arrays])
    total = flat.size
    assert hooks.views_size(arrays) == total
    for position in range(0, total + 1, 3):
        for end in sorted({position, position + 1, position + 9, total}):
            end = min(end, total)
            runs = hooks.segments(arrays, position, end)
            assert [(view, values.size) for view, values in runs] == \
                expected_runs(arrays, position, end)
            got = np.concatenate([values for _, values in runs]) if runs else np.empty(0)
            np.testing.assert_array_equal(got, flat[position:end])


def test_runs_need_float64(hooks):
    with pytest.raises(TypeError, match="float64"):
        hooks.segments([np.zeros((2, 2), np.float32)], 0, 4)
