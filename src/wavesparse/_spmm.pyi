import numpy as np

def csr_spmm(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
             x: np.ndarray, y: np.ndarray, bias: np.ndarray | None = ...,
             act: int = ...) -> None: ...
def bsr_spmm(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, br: int, bc: int,
             x: np.ndarray, y: np.ndarray, bias: np.ndarray | None = ...,
             act: int = ...) -> None: ...
