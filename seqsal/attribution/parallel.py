"""Using the CPU cores for many small tensor operations: independent pieces of work on threads, one core each.

Torch parallelises each operation over its intra-op threads (OpenMP).  That
pays for large convolutions, but windowed ISM runs thousands of small ones (a
few positions' mutants through a window of each layer), and the workers of a
small operation spend their time waiting on each other at the operation's
end, or on a worker the operating system has descheduled on a loaded machine.
The work splits instead into independent pieces (the passes of different
positions), so :func:`map_on_cores` runs whole pieces on a pool of threads and
each operation on one thread.  Torch's operations release the GIL, so the
threads overlap except in the Python between operations.

Every operation then runs single-threaded whatever the pool size, on the same
shapes, so results are identical bit for bit for any number of workers or
torch threads: no reduction is split differently.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


# Each worker holds one piece's tensors (for windowed ISM, one pass of up to MUTANTS_PER_PASS mutants), so
# memory grows with the pool; and the Python between operations holds the GIL, so returns diminish.  Only
# 2 cores were measured; the bound keeps a many-core machine's memory at a few passes' worth.
MAX_WORKERS = 8


def workers_for(device: torch.device) -> int:
    """How many pieces to run at once on ``device``: torch's intra-op threads on CPU (at most ``MAX_WORKERS``).

    1 on an accelerator, which runs each operation on its own cores; threads
    feeding it would only contend for its queue.
    """
    return min(torch.get_num_threads(), MAX_WORKERS) if device.type == "cpu" else 1


@contextlib.contextmanager
def one_thread_per_operation(device: torch.device) -> Iterator[None]:
    """On CPU, torch operations run single-threaded inside; the caller's thread setting is restored on exit.

    Also around work that is not split (a reference pass), so that it too
    does not depend on the thread count.  The setting is process-wide while
    this is active.
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def map_on_cores(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[function(item) for item in items]``, ``workers`` items at a time on threads of one torch thread each.

    Threads take the next item when they finish one, so a core slowed by
    other jobs simply does fewer.  The caller's grad and inference modes,
    which torch keeps per thread, hold in the workers too.  The first
    exception is raised here.  Call it inside :func:`one_thread_per_operation`
    so the caller's thread also stays single-threaded.
    """
    workers = max(1, min(workers, len(items)))
    if workers == 1:
        return [function(item) for item in items]
    inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

    def run(item: T) -> R:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return function(item)

    # A new thread takes torch's current (process-wide) thread count; set it anyway, explicitly.
    with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        return list(pool.map(run, items))
