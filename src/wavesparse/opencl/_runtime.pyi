from typing import Any

import numpy as np

def error_name(code: int) -> str | None: ...
def error_codes() -> list[int]: ...
def runtime(path: str | None = ...) -> Runtime: ...

class Runtime:
    path: str
    def platforms(self) -> list[Platform]: ...

class Platform:
    runtime: Runtime
    name: str
    vendor: str
    version: str
    profile: str
    def devices(self) -> list[Device]: ...

class Device:
    platform: Platform
    name: str
    vendor: str
    board_name: str
    type: str
    driver_version: str
    version: str
    opencl_c_version: str
    compute_units: int
    max_clock_mhz: int
    max_work_group_size: int
    local_mem_bytes: int
    global_mem_bytes: int
    max_alloc_bytes: int
    has_fp64: bool
    has_fp16: bool
    wavefront_width: int | None
    @property
    def is_gpu(self) -> bool: ...
    @property
    def key(self) -> tuple[Any, ...]: ...
    def info(self) -> dict[str, Any]: ...

class Context:
    device: Device
    def __init__(self, device: Device) -> None: ...

class Queue:
    context: Context
    def __init__(self, context: Context) -> None: ...
    def finish(self) -> None: ...

class Program:
    context: Context
    options: str
    def __init__(self, context: Context, source: str, options: str = ...) -> None: ...

class Buffer:
    context: Context
    nbytes: int
    def __init__(self, context: Context, nbytes: int, flags: str = ...) -> None: ...
    def write(self, queue: Queue, array: np.ndarray, offset: int = ...) -> None: ...
    def read(self, queue: Queue, array: np.ndarray, offset: int = ...) -> None: ...
    def fill(self, queue: Queue, pattern: np.generic) -> None: ...

class LocalMemory:
    nbytes: int
    def __init__(self, nbytes: int) -> None: ...

class Event:
    queue: Queue
    def wait(self) -> None: ...
    @property
    def seconds(self) -> float: ...

class Kernel:
    program: Program
    name: str
    def __init__(self, program: Program, name: str) -> None: ...
    @property
    def work_group_size(self) -> int: ...
    def set_arg(self, index: int, value: Any) -> None: ...
    def enqueue(self, queue: Queue, global_size: tuple[int, ...],
                local_size: tuple[int, ...] | None = ...) -> Event: ...
