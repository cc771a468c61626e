"""The pruner protocol: every registered pruner answers it the same way.

Oracles: masks written out with plain numpy and Python sorting (the position
tie rule spelled out), never the selector under test.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import wavesparse as ws
from wavesparse.cli import main
from wavesparse.pruning import (BlockPruner, GradualPruner, MagnitudePruner, Pruner,
                                StructuredPruner, registry)
from wavesparse.pruning.selection import smallest_in_groups, smallest_masks

SRC = Path(__file__).resolve().parents[1] / "src" / "wavesparse"


def pruners(sparsity=0.5):
    """One instance of every registered pruner that needs no extra input."""
    made = []
    for name in registry.names():
        cls = registry.get(name)
        if cls is BlockPruner:
            made.append(cls(sparsity, block=2))
        elif cls in (MagnitudePruner, StructuredPruner):
            made.append(cls(sparsity))
    return made


def test_registry_lists_the_built_in_pruners():
    assert registry.names()[:3] == ["magnitude", "structured", "block"]
    assert registry.get("block") is BlockPruner
    with pytest.raises(ValueError, match="method must be one of magnitude, structured, block"):
        registry.get("nope")


def test_registry_refuses_nameless_and_duplicate_pruners():
    class Nameless(Pruner):
        pass
    with pytest.raises(TypeError, match="non-empty str `name`"):
        registry.register(Nameless)

    class Impostor(Pruner):
        name = "magnitude"
    with pytest.raises(ValueError, match="registered already"):
        registry.register(Impostor)


@pytest.mark.parametrize("pruner", pruners(), ids=lambda p: p.name)
def test_every_pruner_returns_weights_zeroed_where_its_mask_is_false(pruner):
    w = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32)
    pruned, mask = pruner.prune_layer(w)
    assert mask.dtype == np.bool_ and mask.shape == w.shape
    np.testing.assert_array_equal(pruned, np.where(mask, w, 0))
    assert pruned.dtype == w.dtype
    assert pruner.history[-1]["call"] == "layer"
    assert pruner.history[-1]["method"] == pruner.name


@pytest.mark.parametrize("pruner", pruners(0.25), ids=lambda p: p.name)
def test_every_pruner_keeps_earlier_masks_pruned(pruner):
    w = np.random.default_rng(2).standard_normal((8, 8))
    _, first = pruner.prune_layer(w, sparsity=0.25)
    _, second = pruner.prune_layer(w, mask=first, sparsity=0.5)
    assert not (second & ~first).any()        # masks only grow
    assert (~second).sum() >= (~first).sum()


@pytest.mark.parametrize("pruner", pruners(), ids=lambda p: p.name)
def test_every_pruner_takes_a_per_tensor_budget(pruner):
    rng = np.random.default_rng(3)
    model = {"a": rng.standard_normal((8, 8)), "b": rng.standard_normal((8, 8)),
             "bias": rng.standard_normal(8)}
    if pruner.scope == "global":
        return
    pruned, masks = pruner.prune_model(model, sparsity={"a": 0.25, "b": 0.75})
    assert sorted(masks) == ["a", "b"] and pruned["bias"] is model["bias"]
    assert (~masks["a"]).sum() < (~masks["b"]).sum()
    layers = pruner.history[-1]["layers"]
    assert layers["a"]["target_sparsity"] == 0.25 and layers["b"]["target_sparsity"] == 0.75
    with pytest.raises(ValueError, match="'c'.*not among the tensors"):
        pruner.prune_model(model, sparsity={"c": 0.5})


def test_global_scope_refuses_a_per_tensor_budget():
    model = {"a": np.ones((2, 2)), "b": np.ones((2, 2))}
    with pytest.raises(ValueError, match="scope='global' prunes to one sparsity"):
        MagnitudePruner(0.5, scope="global").prune_model(model, sparsity={"a": 0.1})


def test_budget_gives_each_tensor_its_exact_count():
    rng = np.random.default_rng(4)
    model = {"a": rng.standard_normal((10, 10)), "b": rng.standard_normal((5, 7))}
    _, masks = MagnitudePruner(0.5).prune_model(model, sparsity={"a": 0.3, "b": 0.8})
    assert (~masks["a"]).sum() == 30 and (~masks["b"]).sum() == round(0.8 * 35)


def test_protocol_type_errors_name_the_argument():
    with pytest.raises(TypeError, match="weights must be a dict"):
        MagnitudePruner(0.5).prune_model([np.ones(3)])
    with pytest.raises(TypeError, match="masks must be a dict"):
        MagnitudePruner(0.5).prune_model({"a": np.ones((2, 2))}, masks=[1])
    with pytest.raises(TypeError, match="mask must be a bool array"):
        MagnitudePruner(0.5).prune_layer(np.ones(4), mask=np.ones(4))
    with pytest.raises(TypeError, match="include must be a list of glob patterns"):
        MagnitudePruner(0.5, include="*.weight")


# ---------------------------------------------------------------- the selector

def _oracle_group_mask(scores, k, prior):
    """Per row: prior-pruned first, then smallest score, then lower index."""
    keep = np.ones(scores.shape, bool)
    for r in range(scores.shape[0]):
        order = sorted(range(scores.shape[1]),
                       key=lambda j: (bool(prior[r, j]), scores[r, j], j))
        keep[r, order[:k]] = False
    return keep & prior


def test_smallest_in_groups_equals_a_written_out_sort():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 4, size=(30, 8)).astype(np.float64)   # many ties
    prior = rng.random((30, 8)) > 0.2
    for k in (0, 1, 3, 8):
        np.testing.assert_array_equal(smallest_in_groups(scores, k, prior=prior),
                                      _oracle_group_mask(scores, k, prior))


def test_smallest_in_groups_splits_the_last_axis_into_groups():
    scores = np.array([[4.0, 3.0, 2.0, 1.0, 1.0, 1.0, 2.0, 0.5]])
    np.testing.assert_array_equal(smallest_in_groups(scores, 2, group=4),
                                  [[True, True, False, False, False, True, True, False]])


def test_smallest_masks_prunes_ties_by_position_across_arrays():
    masks = smallest_masks([np.array([1.0, 2.0, 1.0]), np.array([1.0, 0.5])], 3)
    np.testing.assert_array_equal(masks[0], [False, True, False])
    np.testing.assert_array_equal(masks[1], [True, False])


# ---------------------------------------------------------------- block, structured

def _block_oracle(w, r, c, k, norm):
    rows, cols = w.shape
    blocks = []
    for i in range(0, rows, r):
        for j in range(0, cols, c):
            tile = w[i:i + r, j:j + c]
            value = np.abs(tile).sum() if norm == "l1" else np.sqrt((tile ** 2).sum())
            blocks.append((value, len(blocks), i, j))
    keep = np.ones(w.shape, bool)
    for _, _, i, j in sorted(blocks)[:k]:
        keep[i:i + r, j:j + c] = False
    return keep


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("shape,block", [((8, 8), (2, 2)), ((10, 7), (4, 3)), ((6, 12), (3, 4))])
def test_block_pruner_removes_exactly_k_blocks_by_norm(norm, shape, block):
    rng = np.random.default_rng(6)
    w = rng.integers(-2, 3, size=shape).astype(np.float64)     # ties between blocks
    n_blocks = -(-shape[0] // block[0]) * -(-shape[1] // block[1])
    for s in (0.0, 0.3, 0.5, 0.9):
        k = round(s * n_blocks)
        _, mask = BlockPruner(s, block=block, norm=norm).prune_layer(w)
        np.testing.assert_array_equal(mask, _block_oracle(w, *block, k, norm))


def test_block_pruner_packs_into_exactly_the_kept_blocks():
    w = np.random.default_rng(7).standard_normal((64, 32)).astype(np.float32)
    pruned, _ = BlockPruner(0.75, block=16).prune_layer(w)
    assert ws.formats.to_bsr(pruned, 16).nnz == 2 * 256


def test_structured_protocol_mask_is_the_rows_prune_channels_keeps():
    w = np.random.default_rng(8).standard_normal((6, 4))
    pruner = StructuredPruner(0.5, "l2")
    _, kept = pruner.prune_channels(w)
    pruned, mask = pruner.prune_layer(w)
    expected = np.zeros(6, bool)
    expected[kept] = True
    np.testing.assert_array_equal(mask, np.repeat(expected[:, None], 4, axis=1))


def test_structured_heads_through_the_protocol():
    w = np.repeat(np.array([1.0, 3.0, 2.0])[:, None], 4, axis=0) * np.ones((12, 2))
    _, mask = StructuredPruner(0.34, granularity="head", num_heads=3).prune_layer(w)
    np.testing.assert_array_equal(mask[:, 0], [False] * 4 + [True] * 8)
    with pytest.raises(ValueError, match="needs num_heads"):
        StructuredPruner(0.5, granularity="head").prune_layer(w)


# ---------------------------------------------------------------- gradual drives any pruner

@pytest.mark.parametrize("inner", [StructuredPruner(0.75), BlockPruner(0.75, block=2)],
                         ids=["structured", "block"])
def test_gradual_drives_any_pruner_and_masks_only_grow(inner):
    w = np.random.default_rng(9).standard_normal((8, 8))
    g = GradualPruner(0.0, 0.75, begin_step=0, end_step=4, frequency=1, pruner=inner)
    previous = np.ones(w.shape, bool)
    for step in range(5):
        pruned, mask = g.prune_step(w, step)
        assert not (mask & ~previous).any()
        previous = mask
    assert (~previous).sum() == round(0.75 * 64)


def test_gradual_refuses_what_is_not_a_pruner():
    with pytest.raises(TypeError, match="pruner protocol"):
        GradualPruner(pruner=object())


# ---------------------------------------------------------------- the command line

def test_cli_method_block_and_foreign_options(tmp_path, capsys):
    w = np.random.default_rng(10).standard_normal((32, 32)).astype(np.float32)
    src, out = tmp_path / "m.npz", tmp_path / "p.npz"
    np.savez(src, w=w)
    assert main(["prune", str(src), "-o", str(out), "--method", "block",
                 "--block", "8x8", "--sparsity", "0.5"]) == 0
    pruned = np.load(out)["w"]
    assert (np.abs(pruned).reshape(4, 8, 4, 8).sum(axis=(1, 3)) == 0).sum() == 8
    assert "block (block-norm l1)" in capsys.readouterr().out
    assert main(["prune", str(src), "-o", str(out), "--method", "structured",
                 "--block-norm", "l2"]) == 2
    assert "--block-norm applies to --method block" in capsys.readouterr().err


# ---------------------------------------------------------------- package shape

def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path, ".".join(("wavesparse",) + path.relative_to(SRC).with_suffix("").parts)


def test_no_private_name_is_imported_across_modules():
    offenders = []
    for path, _ in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wavesparse"):
                base = SRC.joinpath(*node.module.split(".")[1:])
                for alias in node.names:
                    is_module = (base / alias.name).with_suffix(".py").exists() or \
                        (base / (alias.name + ".pyx")).exists() or (base / alias.name).is_dir()
                    if alias.name.startswith("_") and not is_module:
                        offenders.append("%s: from %s import %s" % (path.name, node.module,
                                                                    alias.name))
    assert offenders == []


def test_lower_layers_never_import_upper_ones():
    upper = {"wavesparse.cli", "wavesparse.demo", "wavesparse.quality", "wavesparse.io",
             "wavesparse.report", "wavesparse.pruning", "wavesparse.compat"}
    lower = ("wavesparse.ops", "wavesparse.formats", "wavesparse._dispatch",
             "wavesparse._validate", "wavesparse._ties", "wavesparse.opencl")
    offenders = []
    for path, module in _modules():
        if not module.startswith(lower):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n.startswith(tuple(upper)) for n in names):
                offenders.append("%s imports %s" % (module, names[0]))
    assert offenders == []


def test_our_io_module_never_hides_the_standard_one():
    """wavesparse.io keeps its name: no module that imports it also needs the
    standard library's io under the same name."""
    for path, module in _modules():
        tree = ast.parse(path.read_text())
        ours = any(isinstance(n, ast.ImportFrom) and n.module == "wavesparse"
                   and any(a.name == "io" and a.asname is None for a in n.names)
                   for n in ast.walk(tree))
        stdlib = any(isinstance(n, ast.Import) and any(a.name == "io" for a in n.names)
                     for n in ast.walk(tree))
        assert not (ours and stdlib), module
