import numpy as np

def nm_spmm(values: np.ndarray, positions: np.ndarray, cols: int, n: int, m: int,
            x: np.ndarray, y: np.ndarray) -> None: ...
