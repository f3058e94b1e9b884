"""The group-parallel kernel's claim protocol (kernels/hier/groups.py, kernels/hier/sync.py), driven directly.

hier_gibbs_groups' workers share one parallel region: each phase's tasks sit in segments, each claimed from
its front and its back on one tagged counter (_claim, _next_task); the worker that finishes a phase's last
task opens the next (_open) while the others wait for it (_wait_for).  Here:

- one worker at a time, in Python: every task is granted exactly once whatever the order the workers take
  turns in (one worker alone included), the front and back claims of a segment meet with no gap and no
  overlap, grants are guided (a quarter of what is left), a worker of a closed phase claims nothing;
- the same at the counters' limits (MAX_SEGMENT_TASKS tasks in one segment, tags that wrap);
- real threads: the workers loop exactly as hier_gibbs_groups does, over 1 to 5 workers on 1 and 2
  threads (more workers than threads: the region's iterations then run one after another), in a
  subprocess with a timeout, every wait bounded by a spin count first and then the real _wait_for.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import numpy as np
import pytest

from gibbsreg.kernels.hier import groups as G
from gibbsreg.kernels.hier.dispatch import MAX_SEGMENT_TASKS


def _plans():
    """(first, last) segment plans as hier_gibbs_groups makes them (_ahead_plan), plus hand-made edge
    cases: empty segments, one-task segments, more segments than tasks.  (_ahead_plan's (1, 1, ..., 5 workers)
    gives a segment with last < first, a worker skipped within one task: it claims as an empty one.)"""
    plans = []
    for C, nb, q, p, asis in ((1, 4, 2, 3, True), (2, 9, 3, 5, False), (1, 40, 5, 5, True), (3, 1, 1, 2, False),
                              (1, 1, 1, 2, False)):
        for n_workers in range(1, 6):
            size = 128
            n_normal, n_gamma = nb * size * q + 10, 3 + nb * size
            _, first, last = G._ahead_plan(C, C * nb, size, q, p, asis, n_normal, n_gamma, n_workers)
            plans.append((n_workers, C + C * nb, first, last))
    # hand-made: 3 stages; segments of 0, 1 and several tasks
    first = np.array([[0, 0, 1], [0, 1, 2], [0, 3, 3]], dtype=np.int64)
    last = np.array([[0, 1, 7], [1, 2, 7], [3, 3, 7]], dtype=np.int64)
    plans.append((5, 7, first, last))
    return plans


def _sizes(first, last, s):
    return np.maximum(0, last[s] - first[s])


def _check_plan(n_tasks, first, last):
    for s in range(3):
        tasks = np.concatenate([np.arange(f, l) for f, l in zip(first[s], last[s])])
        np.testing.assert_array_equal(tasks, np.arange(n_tasks))  # the segments tile the tasks, in order


def _counter(ctrl, m):
    v = int(ctrl[G.AT_CLAIMS + m * G.STRIDE])
    return v >> G.TAG_SHIFT, (v >> G.FRONT_SHIFT) & G.MAX_SEGMENT_TASKS, v & G.MAX_SEGMENT_TASKS


def _run_phase(ctrl, phase, first, last, n_workers, order):
    """Workers take one task each in turn (``order``: the worker of each turn, repeated; a worker that gets
    -1 drops out), as hier_gibbs_groups' worker loop does; returns the tasks each worker ran, in order."""
    s = phase % 3
    tag = phase & G.TAG_MASK
    mine = np.zeros((n_workers, G.STRIDE), dtype=np.int64)  # mine[w, 1] = 0 at the start of the phase
    ran = {w: [] for w in range(n_workers)}
    active = [w for w in dict.fromkeys(order)]
    turns = 0
    while active:
        for w in list(active):
            turns += 1
            assert turns < 10_000, "a worker keeps getting tasks"
            task = G._next_task(ctrl, tag, s, w, first, last, mine[w])
            if task < 0:
                active.remove(w)
            else:
                ran[w].append(int(task))
    return ran


@pytest.mark.parametrize("plan", range(len(_plans())))
def test_every_task_is_claimed_once_and_the_ends_meet(plan):
    n_workers, n_tasks, first, last = _plans()[plan]
    _check_plan(n_tasks, first, last)
    rng = np.random.default_rng(plan)
    orders = [list(range(n_workers)), list(range(n_workers))[::-1], [0], [n_workers - 1],
              list(rng.permutation(n_workers))]
    n_segments = first.shape[1]
    for i, order in enumerate(orders):
        ctrl = np.zeros(G.AT_CLAIMS + n_segments * G.STRIDE, dtype=np.int64)
        phase = 3 * i + (i % 3)
        G._open(ctrl, phase, n_segments)
        assert G._wait_for(ctrl, phase) == phase  # open: returns at once
        ran = _run_phase(ctrl, phase, first, last, n_workers, order)
        tasks = sorted(t for w in ran for t in ran[w])
        assert tasks == list(range(n_tasks)), (order, ran)  # every task once, whoever runs
        s = phase % 3
        for m in range(n_segments):
            tag, front, back = _counter(ctrl, m)
            assert tag == phase & G.TAG_MASK
            assert front + back == _sizes(first, last, s)[m]  # the two ends meet: no gap, no overlap
        if len(order) == 1:
            assert ran[order[0]] and len(ran[order[0]]) == n_tasks  # a worker alone runs the whole phase
        # the phase is over for everyone: a worker that comes late claims nothing
        extra = np.zeros(G.STRIDE, dtype=np.int64)
        assert G._next_task(ctrl, phase & G.TAG_MASK, s, 0, first, last, extra) == -1


def test_the_two_workers_of_a_segment_start_at_its_two_ends():
    first = np.array([[0, 40]] * 3, dtype=np.int64)
    last = np.array([[40, 80]] * 3, dtype=np.int64)
    ctrl = np.zeros(G.AT_CLAIMS + 2 * G.STRIDE, dtype=np.int64)
    G._open(ctrl, 0, 2)
    mine = np.zeros((4, G.STRIDE), dtype=np.int64)
    got = [int(G._next_task(ctrl, 0, 0, w, first, last, mine[w])) for w in range(4)]
    # worker w starts in segment w // 2, even from the front, odd from the back; a grant is a quarter of what
    # is left (10 of 40, then 7 of 30), run ascending
    assert got == [0, 33, 40, 73]
    assert [tuple(mine[w, :2]) for w in range(4)] == [(1, 9), (34, 6), (41, 9), (74, 6)]
    assert _counter(ctrl, 0)[1:] == (10, 7) and _counter(ctrl, 1)[1:] == (10, 7)


def test_claims_are_guided_and_meet_at_the_counters_limit():
    """One segment of MAX_SEGMENT_TASKS tasks claimed from both ends: every grant is max(1, left // 4), the
    grants tile the segment, and the front count never spills into the tag (nor the tag into the sign)."""
    assert 2 * G.COUNT_BITS + G.TAG_BITS <= 63
    assert MAX_SEGMENT_TASKS == G.MAX_SEGMENT_TASKS
    n = G.MAX_SEGMENT_TASKS
    for phase in (0, 5, G.TAG_MASK, G.TAG_MASK + 7):  # tags wrap at TAG_BITS
        tag = phase & G.TAG_MASK
        ctrl = np.zeros(G.AT_CLAIMS + G.STRIDE, dtype=np.int64)
        G._open(ctrl, phase, 1)
        covered = np.zeros(n + 1, dtype=np.int64)  # +1 at each grant's start, -1 past its end
        left = n
        claims = 0
        while True:
            from_back = claims % 2 == 1
            offset, granted = G._claim(ctrl, G.AT_CLAIMS, tag, n, from_back)
            if granted == 0:
                break
            assert granted == max(1, left // 4)
            covered[offset] += 1
            covered[offset + granted] -= 1
            left -= granted
            claims += 1
            assert claims < 200
        assert left == 0 and ctrl[G.AT_CLAIMS] >= 0
        assert np.all(np.cumsum(covered)[:n] == 1)  # every task in exactly one grant
        t, front, back = _counter(ctrl, 0)
        assert t == tag and front + back == n
        # a stale tag (the phase before) claims nothing and leaves the counter as it was
        before = ctrl.copy()
        assert G._claim(ctrl, G.AT_CLAIMS, (phase - 1) & G.TAG_MASK, n, False) == (0, 0)
        np.testing.assert_array_equal(ctrl, before)


def test_open_resets_the_counters_for_the_next_phase():
    ctrl = np.full(G.AT_CLAIMS + 3 * G.STRIDE, -1, dtype=np.int64)
    G._open(ctrl, 4, 3)
    assert ctrl[G.AT_PHASE] == 4
    assert ctrl[G.AT_DONE + (5 % 2) * G.STRIDE] == 0  # the next phase's finished count
    assert ctrl[G.AT_DONE + (4 % 2) * G.STRIDE] == -1  # this phase's is the previous opener's to zero
    for m in range(3):
        assert _counter(ctrl, m) == (4, 0, 0)


COMPILE_SECONDS = 300  # the harness compiles first (parallel=True; longer on a busy machine)
CASE_SECONDS = 20  # then each case runs in milliseconds: a case this slow has hung

THREADS_SCRIPT = r"""
import json, sys
import numba
import numpy as np
from numba import njit, prange

from gibbsreg.kernels.hier import groups as G
from gibbsreg.kernels.hier.sync import atomic_add, atomic_load, spin_pause

SPIN_LIMIT = 40_000_000  # about a second of pauses: far beyond any wait for another worker's tiny tasks


@njit
def bounded_wait(ctrl, phase):
    for _ in range(SPIN_LIMIT):
        open_phase = atomic_load(ctrl, G.AT_PHASE)
        if open_phase >= phase:
            return open_phase
        spin_pause()
    return -1


@njit(parallel=True)
def run(n_workers, n_phases, first, last, n_tasks, work, bounded):
    # hier_gibbs_groups' worker loop, each task an atomic count and a little spinning
    n_segments = first.shape[1]
    ctrl = np.zeros(G.AT_CLAIMS + n_segments * G.STRIDE, dtype=np.int64)
    claims = np.zeros((n_workers, G.STRIDE), dtype=np.int64)
    counts = np.zeros(n_phases * n_tasks, dtype=np.int64)
    serial = np.zeros(n_phases * G.STRIDE, dtype=np.int64)
    met = np.zeros(n_phases, dtype=np.int64)
    timeouts = np.zeros(n_workers, dtype=np.int64)
    G._open(ctrl, 0, n_segments)
    for w in prange(n_workers):
        mine = claims[w]
        phase = 0
        while True:
            phase = bounded_wait(ctrl, phase) if bounded else G._wait_for(ctrl, phase)
            if phase < 0:
                timeouts[w] = 1
                break
            if phase >= n_phases:
                break
            s = phase % 3
            mine[1] = 0
            finished = 0
            while True:
                task = G._next_task(ctrl, phase & G.TAG_MASK, s, w, first, last, mine)
                if task < 0:
                    break
                finished += 1
                atomic_add(counts, phase * n_tasks + task, 1)
                for _ in range(work[task]):
                    spin_pause()
            if finished == 0 or atomic_add(ctrl, G.AT_DONE + (phase % 2) * G.STRIDE, finished) + finished < n_tasks:
                phase += 1
                continue
            # the last task's worker: the serial step, then the next phase
            atomic_add(serial, phase * G.STRIDE, 1)
            ok = 1
            for m in range(n_segments):
                v = atomic_load(ctrl, G.AT_CLAIMS + m * G.STRIDE)
                front = (v >> G.FRONT_SHIFT) & G.MAX_SEGMENT_TASKS
                back = v & G.MAX_SEGMENT_TASKS
                if (v >> G.TAG_SHIFT) != (phase & G.TAG_MASK) or front + back != max(0, last[s, m] - first[s, m]):
                    ok = 0
            met[phase] = ok
            G._open(ctrl, phase + 1, n_segments)
            phase += 1
    return counts, serial[::G.STRIDE].copy(), met, timeouts


def cases():
    rng = np.random.default_rng(0)
    for bounded in (True, False):  # the kernel's own _wait_for only once every bounded wait has ended
        for threads in (1, 2):
            for n_workers, n_tasks, first, last in json.loads(sys.argv[1]):
                yield bounded, threads, n_workers, n_tasks, first, last, rng.integers(0, 300, n_tasks)


run.compile("(int64, int64, int64[:, ::1], int64[:, ::1], int64, int64[::1], boolean)")
print("COMPILED", flush=True)
for bounded, threads, n_workers, n_tasks, first, last, work in cases():
    numba.set_num_threads(threads)
    counts, serial, met, timeouts = run(n_workers, 12, np.array(first, dtype=np.int64),
                                        np.array(last, dtype=np.int64), n_tasks, work, bounded)
    ok = timeouts.sum() == 0 and np.all(counts == 1) and np.all(serial == 1) and np.all(met == 1)
    print("RESULT " + json.dumps(dict(bounded=bounded, threads=threads, workers=n_workers, tasks=n_tasks,
                                      once=bool(np.all(counts == 1)), serial=serial.tolist(), met=met.tolist(),
                                      timeouts=int(timeouts.sum()))), flush=True)
    if not ok:  # the first failure is the report: stop before any unbounded wait
        break
print("END", flush=True)
"""


def test_threads_claim_every_task_once_and_never_wait_forever():
    """The worker loop of hier_gibbs_groups on real threads (1 to 5 workers on 1 and 2 threads): every
    task of every phase runs exactly once, exactly one worker runs each phase's serial step, the ends of
    every segment meet, and no worker waits forever (bounded waits first; then the kernel's own _wait_for,
    with the subprocess's timeout as the bound)."""
    cases = [(w, n, f.tolist(), l.tolist()) for w, n, f, l in _plans()]
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    proc = subprocess.Popen([sys.executable, "-c", THREADS_SCRIPT, json.dumps(cases)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()
    results = []
    try:
        # the first line waits for the harness to compile; after it, every case takes milliseconds
        deadline = COMPILE_SECONDS
        while True:
            try:
                line = lines.get(timeout=deadline)
            except queue.Empty:
                pytest.fail(f"the claim protocol hung after {len(results)} cases; the last: "
                            f"{results[-1] if results else None}")
            if line is None or line.startswith("END"):
                break
            if line.startswith("RESULT "):
                results.append(json.loads(line[len("RESULT "):]))
            deadline = CASE_SECONDS
    finally:
        proc.kill()
        stderr = proc.communicate()[1]
    assert results and results[-1] is not None, stderr[-3000:]
    for r in results:
        assert r["timeouts"] == 0, r
        assert r["once"], r
        assert r["serial"] == [1] * len(r["serial"]), r
        assert r["met"] == [1] * len(r["met"]), r
    assert len(results) == 4 * len(cases), stderr[-3000:]
