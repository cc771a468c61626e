import numpy as np

KEYS: int

def add_histogram(views: list[np.ndarray], inf_key: int, hist: np.ndarray,
                  argument: str = ...) -> None: ...
def apply_threshold(view: np.ndarray, t_key: int, inf_key: int,
                    argument: str = ..., out: np.ndarray | None = ...,
                    out_mask: np.ndarray | None = ...,
                    ties: int = ...) -> tuple[np.ndarray, np.ndarray, int]: ...
