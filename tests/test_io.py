"""Checkpoint files: round trips, sparse layouts, atomic writes, bad files."""

import json
import os
import re

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import formats, io

safetensors = pytest.importorskip("safetensors", reason="the safetensors package is not installed")


@pytest.fixture(params=[".npz", ".safetensors"])
def suffix(request):
    return request.param


def test_dense_and_sparse_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    conv = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    conv[rng.random(conv.shape) < 0.7] = 0
    csr = formats.to_csr(conv.reshape(8, -1))
    csr.original_shape = conv.shape
    bsr = formats.to_bsr(np.kron(np.eye(4), np.ones((4, 4))), 4)
    tensors = {"conv": csr, "blocks": bsr, "bias": np.arange(3.0),
               "ids": np.arange(5, dtype=np.int64).reshape(1, 5)}
    path = tmp_path / ("model" + suffix)
    io.save(path, tensors)
    back = io.load(path)
    assert list(back) == list(tensors)
    assert back["conv"].format == "csr" and back["blocks"].format == "bsr"
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(back["conv"], part), getattr(csr, part))
        np.testing.assert_array_equal(getattr(back["blocks"], part), getattr(bsr, part))
    dense = io.load(path, dense=True)
    np.testing.assert_array_equal(dense["conv"], conv)
    np.testing.assert_array_equal(dense["blocks"], bsr.toarray())
    np.testing.assert_array_equal(dense["ids"], tensors["ids"])
    assert sorted(os.listdir(tmp_path)) == ["model" + suffix]


def test_failed_write_leaves_nothing(tmp_path, suffix, monkeypatch):
    path = tmp_path / ("out" + suffix)
    path.write_bytes(b"old contents")

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    if suffix == ".npz":
        monkeypatch.setattr(np, "savez", broken)
    else:
        import safetensors.numpy
        monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        io.save(path, {"w": np.ones(3)})
    assert sorted(os.listdir(tmp_path)) == ["out" + suffix]
    assert path.read_bytes() == b"old contents"


@pytest.mark.parametrize("content, match", [
    (None, "file not found"),
    (b"", "cannot read"),
    (b"this is not a checkpoint at all", "cannot read"),
])
def test_bad_files(tmp_path, suffix, content, match):
    path = tmp_path / ("bad" + suffix)
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(io.CheckpointError, match=match):
        io.load(path)


def test_truncated_file(tmp_path, suffix):
    path = tmp_path / ("model" + suffix)
    io.save(path, {"w": np.ones((64, 64), np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(io.CheckpointError, match="cannot read"):
        io.load(path)


def test_inconsistent_sparse_parts(tmp_path):
    path = tmp_path / "broken.npz"
    np.savez(path, **{"w.__csr_data": np.ones(2), "w.__csr_indices": np.int32([0, 9]),
                      "w.__csr_indptr": np.int32([0, 2]), "w.__csr_shape": np.int64([1, 3])})
    with pytest.raises(io.CheckpointError, match="'w' is inconsistent"):
        io.load(path)
    np.savez(path, **{"w.__csr_data": np.ones(2)})
    with pytest.raises(io.CheckpointError, match="lacks part"):
        io.load(path)


def test_bad_names_and_suffix(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        io.save(tmp_path / "x.npz", {"a.__b": np.ones(1)})
    with pytest.raises(io.CheckpointError, match="expected a .safetensors or .npz"):
        io.save(tmp_path / "x.pt", {"a": np.ones(1)})
    with pytest.raises(ValueError, match="only CSR and BSR"):
        io.save(tmp_path / "x.npz", {"a": sp.coo_array(np.eye(2))})


def test_scalars_keep_their_shape(tmp_path, suffix):
    """0-d tensors (num_batches_tracked) came back as shape (1,) (item 7)."""
    path = tmp_path / ("s" + suffix)
    io.save(path, {"n": np.array(7, np.int64), "t": np.float32(0.5), "w": np.ones((2, 2))})
    back = io.load(path)
    assert back["n"].shape == () and back["n"] == 7 and back["n"].dtype == np.int64
    assert back["t"].shape == () and back["t"].dtype == np.float32
    assert io.load(path, dense=True)["n"].shape == ()


def test_symlink_at_a_temporary_name_is_not_followed(tmp_path, suffix):
    """A link planted where the old fixed temporary name was is left alone (item 5)."""
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    path = tmp_path / ("out" + suffix)
    for name in ("out%s.part" % suffix, ".out%s.part%s" % (suffix, suffix)):
        os.symlink(target, tmp_path / name)
    io.save(path, {"w": np.ones(3)})
    assert target.read_text() == "keep me"
    np.testing.assert_array_equal(io.load(path)["w"], np.ones(3))


def test_long_output_names_work(tmp_path, suffix):
    """Names of 237-255 bytes failed: the temporary name no longer grows with
    the target's (item 13)."""
    path = tmp_path / ("w" * (255 - len(suffix)) + suffix)
    io.save(path, {"w": np.ones(3)})
    np.testing.assert_array_equal(io.load(path)["w"], np.ones(3))
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_stale_temporaries_are_recognised_and_removed(tmp_path, suffix):
    """After SIGKILL nothing cleans up in-process: the next write of the folder
    removes what dead wavesparse processes left, and nothing else (item 8)."""
    import subprocess
    import sys
    from wavesparse import _files
    code = ("import os, sys; from wavesparse import _files\n"
            "with _files.replacing(sys.argv[1]) as tmp:\n"
            "    open(tmp, 'wb').write(b'partial'); os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / ("a" + suffix))])
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith(".wavesparse-")
    mine = tmp_path / (".wavesparse-%s-%d-keep.tmp%s" % (_files._host(), os.getpid(), suffix))
    mine.write_bytes(b"a write under way")  # a live process's: kept
    other = tmp_path / ".wavesparse-notes.txt"
    other.write_bytes(b"not ours")
    assert _files.stale_temporaries(tmp_path) == [str(tmp_path / left[0])]
    io.save(tmp_path / ("b" + suffix), {"w": np.ones(2)})
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, other.name, "b" + suffix])


def test_user_metadata_is_kept(tmp_path):
    """transformers reads {"format": "pt"}: io.metadata gives it back (item 9)."""
    from safetensors.numpy import save_file
    path = tmp_path / "hf.safetensors"
    save_file({"w": np.ones((2, 2), np.float32)}, str(path), metadata={"format": "pt"})
    assert io.metadata(path) == {"format": "pt"}
    out = tmp_path / "out.safetensors"
    io.save(out, io.load(path), metadata={**io.metadata(path), "mine": "1"})
    assert io.metadata(out) == {"format": "pt", "mine": "1"}
    assert io.metadata(tmp_path / "out.safetensors") == {"format": "pt", "mine": "1"}


@pytest.mark.parametrize("members, named", [
    ({"x": np.ones((1, 2)), "x.__csr_data": np.ones(1), "x.__csr_indices": np.int32([0]),
      "x.__csr_indptr": np.int32([0, 1]), "x.__csr_shape": np.int64([1, 2])},
     "'x' is stored both dense and as sparse parts"),
    ({"y": np.ones(2), "z.__dense_shape": np.int64([2, 2])},
     "'z.__dense_shape' has no sparse parts"),
    ({"x.__csr_data": np.ones(1), "x.__csr_indices": np.int32([0]),
      "x.__csr_indptr": np.int32([0, 1]), "x.__csr_shape": np.int64([1, 2]),
      "x.__bsr_data": np.ones((1, 1, 1)), "x.__bsr_indices": np.int32([0]),
      "x.__bsr_indptr": np.int32([0, 1]), "x.__bsr_shape": np.int64([1, 2])},
     "'x' has parts of bsr and csr"),
])
def test_ambiguous_files_are_refused_naming_the_tensors(tmp_path, suffix, members, named):
    """Tensors were dropped silently on load (item 6)."""
    path = tmp_path / ("amb" + suffix)
    if suffix == ".npz":
        np.savez(path, **members)
    else:
        from safetensors.numpy import save_file
        save_file(members, str(path))
    with pytest.raises(io.CheckpointError, match="ambiguous.*" + re.escape(named)):
        io.load(path)


def test_npz_members_that_numpy_reads_as_one_name(tmp_path):
    import io as stdio
    import zipfile
    path = tmp_path / "two.npz"
    with zipfile.ZipFile(path, "w") as z:
        for member, value in (("w.npy", np.ones(2)), ("w", np.zeros(3))):
            buffer = stdio.BytesIO()
            np.save(buffer, value)
            z.writestr(member, buffer.getvalue())
    with pytest.raises(io.CheckpointError, match="members 'w.npy' and 'w' are both tensor 'w'"):
        io.load(path)


def test_without_safetensors_nothing_is_written(tmp_path, monkeypatch):
    """The io extra missing: a clear error before any work (item 10)."""
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(io.CheckpointError, match=r"needs the safetensors package: "
                                                 r"pip install 'wavesparse\[io\]'"):
        io.save(tmp_path / "o.safetensors", {"w": np.ones(2)})
    assert os.listdir(tmp_path) == []


def test_unwritable_tensors_and_writer_errors(tmp_path, monkeypatch):
    """Strings, structures and a full disk were tracebacks (item 11)."""
    out = tmp_path / "o.safetensors"
    out.write_bytes(b"old")
    for value, what in ((np.array(["abc"]), "<U3"),
                        (np.zeros(2, [("a", np.int32), ("b", np.float32)]), "a")):
        with pytest.raises(io.CheckpointError, match="safetensors cannot store"):
            io.save(out, {"names": value, "w": np.ones(2)})
    with pytest.raises(io.CheckpointError, match="Python objects"):
        io.save(tmp_path / "o.npz", {"o": np.array([None])})
    import safetensors.numpy

    class SafetensorError(Exception):
        pass

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(No space left on device)")

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    with pytest.raises(io.CheckpointError, match="cannot write .*o.safetensors: Error while "
                                                 "serializing: IoError\\(No space left"):
        io.save(out, {"w": np.ones(2)})
    assert sorted(os.listdir(tmp_path)) == ["o.safetensors"] and out.read_bytes() == b"old"


def test_missing_folder_names_the_target(tmp_path, suffix):
    path = tmp_path / "nodir" / ("out" + suffix)
    with pytest.raises(OSError) as refused:
        io.save(path, {"w": np.ones(2)})
    assert str(refused.value) == "[Errno 2] cannot write %s: No such file or directory" % path
    assert ".wavesparse" not in str(refused.value)


def test_empty_tensor_with_zero_row_dense_shape(tmp_path, suffix):
    """A sparse part whose __dense_shape has 0 rows: ZeroDivisionError (item 12)."""
    path = tmp_path / ("e" + suffix)
    empty = formats.to_csr(np.zeros((0, 12), np.float32))
    empty.original_shape = (0, 3, 4)
    io.save(path, {"e": empty})
    back = io.load(path, dense=True)["e"]
    assert back.shape == (0, 3, 4) and back.dtype == np.float32


def test_save_names_a_bad_key(tmp_path):
    """A non-str key was a traceback from the writer (item 16)."""
    with pytest.raises(TypeError, match=r"tensor names must be str, got 3 \(int\)"):
        io.save(tmp_path / "x.npz", {3: np.ones(1)})
    with pytest.raises(TypeError, match="tensors must be a dict"):
        io.save(tmp_path / "x.npz", [np.ones(1)])


def test_safetensors_reader_agrees_with_the_package(tmp_path):
    """The reader that keeps one copy in memory (item 25) gives what
    safetensors' own reader gives, for every dtype numpy holds."""
    from safetensors import safe_open
    from safetensors.numpy import save_file
    rng = np.random.default_rng(0)
    tensors = {"f32": rng.standard_normal((3, 4)).astype(np.float32),
               "f64": rng.standard_normal(5), "f16": np.float16([1.5, -2]),
               "i8": np.int8([-1, 2]), "u8": np.uint8([1, 255]), "i16": np.int16([3]),
               "u16": np.uint16([4]), "i32": np.int32([[5]]), "u32": np.uint32([6]),
               "i64": np.arange(3), "u64": np.uint64([7]), "b": np.array([True, False]),
               "scalar": np.array(2.5), "empty": np.zeros((0, 3), np.float32)}
    path = tmp_path / "all.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})
    back = io.load(path)
    with safe_open(str(path), framework="np") as f:
        for name in f.keys():
            expected = f.get_tensor(name)
            assert back[name].dtype == expected.dtype and back[name].shape == expected.shape
            np.testing.assert_array_equal(back[name], expected)
    assert io.metadata(path) == {"format": "pt"}


def _header_file(path, header, data=b""):
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return path


@pytest.mark.parametrize("header, data, match", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "do not hold"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "do not hold"),
    ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2, "F8_E4M3"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "non-negative"),
    ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"\0" * 2, "gap or overlap"),
    ({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
      "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3, "gap or overlap"),
    ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0" * 3, "2 bytes follow"),
    ({"__metadata__": {"k": 1}}, b"", "__metadata__ must map str to str"),
    ([1, 2], b"", "not a JSON object"),
])
def test_malformed_safetensors_are_refused(tmp_path, header, data, match):
    from safetensors import safe_open
    path = _header_file(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(io.CheckpointError, match=match):
        io.load(path)
    if "BF16" not in match:
        with pytest.raises(Exception):  # the package refuses them too
            with safe_open(str(path), framework="np") as f:
                [f.get_tensor(k) for k in f.keys()]


def test_duplicate_names_in_a_safetensors_header(tmp_path):
    entry = '{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}'
    text = ('{"w": %s, "w": %s}' % (entry, entry)).encode()
    path = tmp_path / "dup.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"\0")
    with pytest.raises(io.CheckpointError, match="names tensor 'w' twice"):
        io.load(path)


def test_header_length_past_the_file(tmp_path):
    path = tmp_path / "h.safetensors"
    path.write_bytes((10 ** 12).to_bytes(8, "little") + b"{}")
    with pytest.raises(io.CheckpointError, match="past the file"):
        io.load(path)
    with pytest.raises(io.CheckpointError, match="past the file"):
        io.metadata(path)


def test_16_bit_sparse_parts_keep_their_dtype_through_load_save_and_reports(tmp_path):
    """scipy holds the values of a bf16 CSR file as float32 (exactly); the
    loaded array remembers the stored dtype, so saving it again writes bf16
    and the reports give the file's dtype and bytes, not float32's."""
    pytest.importorskip("safetensors", reason="the safetensors package is not installed")
    import ml_dtypes
    from wavesparse import formats, report
    bf16 = np.dtype(ml_dtypes.bfloat16)
    w = np.float32([[0, 1.5, 0, -2], [0, 0, 3, 0]])
    packed = formats.to_csr(w)
    packed.stored_dtype = bf16
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    io.save(first, {"w": packed})
    loaded = io.load(first)["w"]
    assert loaded.dtype == np.float32 and loaded.stored_dtype == bf16
    np.testing.assert_array_equal(loaded.toarray(), w)
    io.save(second, {"w": loaded})
    from safetensors.numpy import load_file
    assert load_file(second)["w.__csr_data"].dtype == bf16
    row = report.tensor_row("w", loaded)
    assert row["dtype"] == "bfloat16" and row["dense_bytes"] == 8 * 2
    assert row["stored_bytes"] == 3 * 2 + loaded.indices.nbytes + loaded.indptr.nbytes


@pytest.mark.parametrize("layout", ["csr", "bsr"])
def test_dense_load_of_16_bit_sparse_parts_gives_the_16_bit_dtype(tmp_path, layout):
    """load(dense=True) gave float32 for a bf16 or float16 CSR/BSR, so
    re-pruning a 16-bit sparse checkpoint wrote float32 (twice the bytes).
    Oracle: the dense 16-bit array that was packed."""
    pytest.importorskip("safetensors", reason="the safetensors package is not installed")
    import ml_dtypes
    from wavesparse import formats
    for dtype in (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)):
        w = np.float32([[0, 1.5, 0, -2], [0, 0, 3.1, 0]]).astype(dtype)
        wide = w.astype(np.float32)
        packed = formats.to_csr(wide) if layout == "csr" else formats.to_bsr(wide, (2, 2))
        path = tmp_path / ("%s.safetensors" % dtype.name)
        io.save(path, {"w": formats.to_half(packed, dtype)})
        got = io.load(path, dense=True)["w"]
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.view(np.uint16), w.view(np.uint16))
