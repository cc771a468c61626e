"""The dask engine: a sharded checkpoint pruned on dask.distributed workers.

The same two passes as :func:`wavesparse.shards.prune`, spread over workers:

1. map: one task per chosen tensor reads it (in pieces) where the shards
   are and returns its histogram of 16-bit magnitude keys (32768 counts);
2. reduce, on the client: the histograms are summed, the threshold found, and
   the ties at the threshold shared out tensor by tensor in order (the
   position rule), so each tensor gets its own ``(value, ties)``;
3. map: one task per shard prunes its tensors and writes the output shard;
   the client writes the index and moves the output in when every shard is
   written.

The result equals the single-process one bit for bit.  Every worker needs
wavesparse (with the ``distributed`` extra) and must see the input and output
folders at the same paths as the client (a shared file system).  Without a
scheduler address a ``LocalCluster`` of two worker processes is started on
this machine.  float16/bfloat16 tensors only: the float32/float64 selection
is not a histogram that adds up across workers.

Examples
--------
>>> from wavesparse import dask_engine
>>> dask_engine.tie_shares([3, 0, 5], 4)
[3, 0, 1]
"""

import os

import numpy as np

from wavesparse import _validate as check
from wavesparse import halfs, shards
from wavesparse.io import CheckpointError

__all__ = ["prune", "tie_shares"]


def _histogram(info, chunk_bytes):
    """Task: one tensor's key histogram (read in pieces)."""
    reader = shards.Reader()
    hist = np.zeros(halfs.KEYS, dtype=np.int64)
    for piece in reader.chunks(info, chunk_bytes):
        halfs.histogram([piece], hist, argument=info.name)
    return hist


def _write(path, infos, choice, plan, layout, block, chunk_bytes, metadata):
    """Task: one output shard."""
    return shards.write_pruned_shard(path, infos, choice, plan.get, layout, block,
                                     chunk_bytes, metadata)


def tie_shares(equal_counts, ties):
    """How many of ``ties`` pruned ties fall in each tensor, in order.

    Examples
    --------
    >>> from wavesparse.dask_engine import tie_shares
    >>> tie_shares([2, 2], 3)
    [2, 1]
    """
    shares = []
    for count in equal_counts:
        shares.append(min(count, ties))
        ties -= shares[-1]
    return shares


def _plan(chosen, hists, sparsity, scope):
    """``{name: (value, [ties])}`` from the per-tensor histograms."""
    plan = {}
    if scope == "global":
        k = int(round(sparsity * sum(int(np.prod(t.shape)) for t in chosen)))
        if k == 0:
            return {t.name: (None, [0]) for t in chosen}
        key, n_below, _ = halfs.select(sum(hists), k - 1)
        value = chosen[0].dtype.type(halfs.value_of(key, chosen[0].dtype))
        shares = tie_shares([int(h[key]) for h in hists], k - n_below)
        return {t.name: (value, [r]) for t, r in zip(chosen, shares)}
    for t, h in zip(chosen, hists):
        k = int(round(sparsity * int(np.prod(t.shape))))
        if k == 0:
            plan[t.name] = (None, [0])
            continue
        key, n_below, _ = halfs.select(h, k - 1)
        plan[t.name] = (t.dtype.type(halfs.value_of(key, t.dtype)), [k - n_below])
    return plan


def _client(scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CheckpointError("--engine dask needs dask.distributed: "
                              "pip install 'wavesparse[distributed]'") from None
    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster), cluster


def prune(source, output, sparsity, scope="local", include=None, exclude=None,
          layout="dense", block=(16, 16), force=False, progress=True, metadata=None,
          scheduler=None, chunk_bytes=shards._CHUNK_BYTES):
    """:func:`wavesparse.shards.prune` on dask.distributed workers.

    Parameters are those of :func:`wavesparse.shards.prune`, and
    ``scheduler``: a dask scheduler address (``tcp://host:8786``); None
    starts a LocalCluster of two worker processes here.

    Returns
    -------
    dict
        As :func:`wavesparse.shards.prune`, with ``workers``: how many ran it.
    """
    sparsity = check.fraction(sparsity, "sparsity")
    if layout not in ("dense", "csr", "bsr"):
        raise ValueError("layout must be 'dense', 'csr' or 'bsr', got %r" % (layout,))
    if scope not in ("local", "global"):
        raise ValueError("scope must be 'local' or 'global', got %r" % (scope,))
    ckpt, choice, chosen = shards.chosen_tensors(source, include, exclude)
    for t in chosen:
        if not halfs.is_half(t.dtype):
            raise CheckpointError("--engine dask prunes float16/bfloat16 tensors; %r is %s "
                                  "(use --engine local)" % (t.name, t.dtype))
    if scope == "global" and len({t.dtype for t in chosen}) > 1:
        raise CheckpointError("--engine dask with --scope global needs one dtype over the "
                              "chosen tensors, got %s"
                              % ", ".join(sorted({str(t.dtype) for t in chosen})))
    client, cluster = _client(scheduler)
    from distributed import as_completed
    try:
        workers = len(client.scheduler_info()["workers"])
        hists = client.gather(client.map(_histogram, chosen, chunk_bytes=chunk_bytes,
                                         pure=False))
        plan = _plan(chosen, hists, sparsity, scope)
        out = shards._Output(output, force)
        try:
            bar = shards._bar(sum(t.nbytes for t in ckpt.tensors), "pruning", progress)
            futures, sizes = [], {}
            for shard in ckpt.shards:
                infos = [t for t in ckpt.tensors if os.path.basename(t.path) == shard]
                own = {t.name: plan[t.name] for t in infos if t.name in plan}
                futures.append(client.submit(_write, out.path(shard), infos, choice, own,
                                             layout, block, chunk_bytes, dict(metadata or {}),
                                             pure=False))
                sizes[futures[-1].key] = sum(t.nbytes for t in infos)
            for done in as_completed(futures):
                bar.update(sizes[done.key])
            results = client.gather(futures)
            bar.close()
            written = sum(size for size, _ in results)
            shards.write_index(out.path(shards.INDEX_NAME), ckpt, choice, layout, written)
            out.commit(shards.INDEX_NAME)
        except BaseException:
            out.discard()
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return {"rows": [row for _, rows in results for row in rows],
            "chosen": [t.name for t in chosen],
            "bytes_read": sum(t.nbytes for t in ckpt.tensors), "bytes_written": written,
            "workers": workers}
