"""The Python agent's cost per acquire/release, against the plain lock,
and per time.sleep(0) against the original.

    python3 benches/python_agent.py [--quick]

Imports the agent from assets/agent (which wraps threading's primitives
and starts its server thread, idle in select), then times, per
acquire+release pair, threading's original primitives (`_thread` locks)
and the agent's wrappers: uncontended (one thread), and contended (four
threads on one lock, each `with lock: n += 1`; the figure is wall time
per pair, all threads together, so it includes the GIL's hand-offs).
Best of 5 runs. Figures and the machine they came from: docs/benchmarks.md.
"""

import os
import sys
import threading
import time
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "agent"))
import _thread  # noqa: E402

import threadscope_agent  # noqa: E402

QUICK = "--quick" in sys.argv
N = 20_000 if QUICK else 500_000
CONTENDED_N = 5_000 if QUICK else 100_000
THREADS = 4
REPEAT = 2 if QUICK else 5


def uncontended(lock, style):
    if style == "with":
        def run():
            for _ in range(N):
                with lock:
                    pass
    else:
        acquire, release = lock.acquire, lock.release

        def run():
            for _ in range(N):
                acquire()
                release()
    return min(timeit.repeat(run, number=1, repeat=REPEAT)) / N


def contended(lock):
    best = None
    for _ in range(REPEAT):
        counter = [0]
        start = threading.Barrier(THREADS + 1)

        def work():
            start.wait()
            for _ in range(CONTENDED_N):
                with lock:
                    counter[0] += 1

        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        assert counter[0] == THREADS * CONTENDED_N
        per = elapsed / (THREADS * CONTENDED_N)
        best = per if best is None else min(best, per)
    return best


def ns(seconds):
    return "%7.0f ns" % (seconds * 1e9)


def row(label, plain, wrapped):
    print("| %-34s | %s | %s | %5.2fx | %+7.0f ns |" % (label, ns(plain), ns(wrapped), wrapped / plain,
                                                       (wrapped - plain) * 1e9))


print("Python %s, %s, N=%d (contended: %d threads x %d)" % (
    sys.version.split()[0], sys.platform, N, THREADS, CONTENDED_N))
print("| %-34s | %10s | %10s | %6s | %10s |" % ("per acquire+release", "original", "agent", "ratio", "added"))
print("|%s|%s|%s|%s|%s|" % ("-" * 36, "-" * 12, "-" * 12, "-" * 8, "-" * 12))
real_rlock = threadscope_agent._real_rlock
for style in ("with", "call"):
    row("Lock, uncontended (%s)" % style, uncontended(_thread.allocate_lock(), style),
        uncontended(threading.Lock(), style))
    row("RLock, uncontended (%s)" % style, uncontended(real_rlock(), style), uncontended(threading.RLock(), style))
row("Lock, contended (%d threads, with)" % THREADS, contended(_thread.allocate_lock()), contended(threading.Lock()))
row("RLock, contended (%d threads, with)" % THREADS, contended(real_rlock()), contended(threading.RLock()))


def sleeps(sleep):
    def run():
        for _ in range(N // 10):
            sleep(0)
    return min(timeit.repeat(run, number=1, repeat=REPEAT)) / (N // 10)


# time.sleep(0), the shortest sleep (a yield): what the wrapper adds to every sleep.
row("time.sleep(0), per call", sleeps(threadscope_agent._real_sleep), sleeps(time.sleep))
assert type(threading.Lock()) is threadscope_agent.Lock
