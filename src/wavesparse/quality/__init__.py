"""Quality harnesses: what pruning costs in accuracy, measured on real data.

:mod:`wavesparse.quality.mlp` trains scikit-learn MLPs on real handwritten
digits and prunes them with wavesparse; :mod:`wavesparse.quality.minilm`
runs the all-MiniLM-L6-v2 sentence encoder in numpy and scores it on
human-rated word and document similarity;
:mod:`wavesparse.quality.numpy_mlp` trains the same MLPs in numpy with dense
gradients, for sparse training from scratch (RigL, SET).  Both need the ``quality`` extra.

Examples
--------
>>> from wavesparse import quality
>>> sorted(quality.__all__)
['minilm', 'mlp', 'numpy_mlp']
"""

__all__ = ["mlp", "minilm", "numpy_mlp"]
