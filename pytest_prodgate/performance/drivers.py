"""The two workload models: closed (virtual users in a loop) and open (arrivals on a schedule).

Both drive ``Connection`` objects through callbacks: a response arrives in the parser callback,
which records it and writes the next request at once, so a request costs no task or future.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Any

from pytest_prodgate.performance.connection import Connection, RequestFailed, open_connection
from pytest_prodgate.performance.users import CheckFailed, VirtualUser

if TYPE_CHECKING:  # pragma: no cover
    from pytest_prodgate.performance.engine import Entry, LoadRun

__all__ = ["ClosedUser", "FlowUser", "OpenModel"]

CONNECT_BACKOFF = 0.05


def record_connect_error(entry: Entry, exc: RequestFailed) -> None:
    entry.stats.requests += 1
    entry.stats.error(exc.kind, exc.detail)


class LoopingConnection(Connection):
    """The closed model's hottest path (templates, no think time): the parser callback records the
    response and writes the next request itself, with no call out to the user; the completion time
    doubles as the next request's send time (one clock read per request, as wrk does)."""

    def __init__(self, owner: ClosedUser) -> None:
        super().__init__(owner)
        self.run = owner.run
        self.k = owner.k

    def on_message_complete(self) -> None:
        # Deliberately the same recording as Connection.on_message_complete, inlined: the closed
        # model writes the next request from here, and one method call less per request measured
        # 0.76x -> 0.88x of wrk's throughput. Change both together.
        now = perf_counter()
        stats = self.stats
        parser = self.parser
        status = parser.get_status_code()
        stats.latencies.append(int((now - self.sent_at) * 1e6))  # type: ignore[union-attr]
        stats.status[status] += 1  # type: ignore[union-attr]
        stats.requests += 1  # type: ignore[union-attr]
        if not self.ok[status]:
            stats.error("5xx" if status >= 500 else "4xx" if status >= 400 else "status", f"HTTP {status}")  # type: ignore[union-attr]
        self.in_flight = False
        run = self.run
        if not parser.should_keep_alive() or run.stopping or (run.remaining is not None and not run.take_iteration()):
            self.close()
            return
        entry = run.table[self.k & run.mask]
        self.k += 1
        self.stats = entry.stats
        self.ok = entry.ok
        self.sent_at = self.written_at = now
        self.in_flight = True
        self.transport.write(entry.data)  # type: ignore[union-attr]


class ClosedUser:
    """A virtual user of template scenarios: one connection, the next request sent from the callback."""

    looping = True  # use LoopingConnection when there is no think time

    def __init__(self, run: LoadRun, index: int) -> None:
        self.run = run
        self.index = index
        self.k = index * 7919  # each user starts at a different place in the pick table
        self.conn: Connection | None = None
        self.lost: asyncio.Future[None] | None = None
        self.loop = asyncio.get_running_loop()
        low, high = run.plan.think_time
        self.think = (low, high) if high > 0 else None

    async def main(self, delay: float) -> None:
        run = self.run
        if delay > 0:
            await run.sleep_unless_stopping(delay)
        while not run.stopping:
            try:
                factory = LoopingConnection if self.think is None and self.looping else Connection
                conn = await open_connection(functools.partial(factory, self), run.target, run.plan.connect_timeout)
            except RequestFailed as exc:
                if not run.take_iteration():
                    break
                record_connect_error(run.next_entry(self), exc)
                await run.sleep_unless_stopping(CONNECT_BACKOFF)
                continue
            self.conn = conn
            self.lost = self.loop.create_future()
            run.connections.add(conn)
            self.send_next()
            await self.lost
            if isinstance(conn, LoopingConnection):
                self.k = conn.k
            run.connections.discard(conn)
            if run.exhausted:
                break

    def send_next(self) -> None:
        run = self.run
        conn = self.conn
        if conn is None or conn.closed:
            return
        if run.stopping or not run.take_iteration():
            conn.close()
            return
        if isinstance(conn, LoopingConnection):
            k = conn.k
            conn.k += 1
        else:
            k = self.k
            self.k += 1
        entry = run.table[k & run.mask]
        now = perf_counter()
        conn.send(entry.data, entry.stats, entry.ok, now, now)

    def on_response(self, conn: Connection, now: float) -> None:
        if self.think is None:
            self.send_next()
        else:
            self.loop.call_later(random.uniform(*self.think), self.send_next)

    def on_lost(self, conn: Connection) -> None:
        lost = self.lost
        if lost is not None and not lost.done():
            lost.set_result(None)


async def run_flow_entry(run: LoadRun, user: VirtualUser, entry: Entry) -> None:
    """One iteration of a scenario on a flow user: a template request or the flow function."""
    user.stats = entry.stats
    try:
        if entry.flow is None:
            conn = await user._connection()
            await conn.request(entry.data, entry.stats, entry.ok, run.plan.read_timeout)
        else:
            await entry.flow(user)
    except RequestFailed as exc:
        if exc.kind == "connect":
            await run.sleep_unless_stopping(CONNECT_BACKOFF)
    except CheckFailed:
        pass
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug in the flow: counted, shown in the result, the run goes on
        entry.stats.error("flow", f"{entry.stats.name}: {type(exc).__name__}: {exc}")


class FlowUser:
    """A virtual user when some scenarios are flows: a coroutine loop (the slower path)."""

    def __init__(self, run: LoadRun, index: int) -> None:
        self.run = run
        self.k = index * 7919
        self.user = run.new_user(index)

    async def main(self, delay: float) -> None:
        run = self.run
        if delay > 0:
            await run.sleep_unless_stopping(delay)
        low, high = run.plan.think_time
        try:
            while not run.stopping and run.take_iteration():
                entry = run.table[self.k & run.mask]
                self.k += 1
                await run_flow_entry(run, self.user, entry)
                if high > 0 and not run.stopping:
                    await run.sleep_unless_stopping(random.uniform(low, high))
        finally:
            self.user.close()


class OpenModel:
    """Arrivals on a schedule; latency counts from each arrival's scheduled time (coordinated omission).

    An arrival takes an idle connection; if there is none it waits in ``pending`` while a new
    connection opens (up to ``max_connections``). An arrival that cannot start within ``slack``
    of its scheduled time is counted as dropped, never silently lost.
    """

    def __init__(self, run: LoadRun) -> None:
        self.run = run
        self.loop = asyncio.get_running_loop()
        self.idle: list[Connection] = []
        self.pending: deque[tuple[float, Entry]] = deque()
        self.connecting = 0
        self.k = 0
        self.times: Any = None
        self.next_t = 0.0
        self.t0 = 0.0
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.flow_users: list[VirtualUser] = []
        self.active_flows = 0
        self.flow_tasks: set[asyncio.Task[None]] = set()
        self.user_count = 0

    async def main(self) -> None:
        from pytest_prodgate.performance.plan import arrival_times

        run = self.run
        for _ in range(min(run.plan.users, run.plan.max_connections)):
            self.grow(force=True)
        self.times = iter(arrival_times(run.plan))
        self.t0 = run.t0
        self.next_t = self.t0 + next(self.times, float("inf"))
        self.tick()
        await self.done

    def tick(self) -> None:
        run = self.run
        now = perf_counter()
        next_t = self.next_t
        times = self.times
        t0 = self.t0
        while next_t <= now and not run.stopping:
            self.dispatch(next_t, now)
            next_t = t0 + next(times, float("inf"))
        self.next_t = next_t
        if run.stopping or next_t == float("inf"):
            if not self.done.done():
                self.done.set_result(None)
            return
        self.loop.call_later(max(0.0, next_t - perf_counter()), self.tick)

    def dispatch(self, scheduled: float, now: float) -> None:
        run = self.run
        entry = run.table[self.k & run.mask]
        self.k += 1
        if entry.flow is not None:
            self.start_flow(entry, scheduled, now)
        elif self.idle:
            self.idle.pop().send(entry.data, entry.stats, entry.ok, scheduled, now)
        else:
            self.pending.append((scheduled, entry))
            self.grow()

    def grow(self, force: bool = False) -> None:
        run = self.run
        if run.stopping:
            return
        if len(run.connections) + self.connecting >= run.plan.max_connections:
            return
        if not force and self.connecting >= len(self.pending):
            return
        self.connecting += 1
        run.spawn(self.connect())

    async def connect(self) -> None:
        run = self.run
        try:
            conn = await open_connection(lambda: Connection(self), run.target, run.plan.connect_timeout)
        except RequestFailed as exc:
            self.connecting -= 1
            if self.pending:
                _, entry = self.pending.popleft()
                record_connect_error(entry, exc)
            await run.sleep_unless_stopping(CONNECT_BACKOFF)
            if self.pending:
                self.grow()
            return
        self.connecting -= 1
        run.connections.add(conn)
        self.release(conn, perf_counter())

    def on_response(self, conn: Connection, now: float) -> None:
        self.release(conn, now)

    def release(self, conn: Connection, now: float) -> None:
        pending = self.pending
        slack = self.run.plan.slack
        while pending:
            scheduled, entry = pending.popleft()
            if now - scheduled > slack:
                entry.stats.dropped += 1
                continue
            conn.send(entry.data, entry.stats, entry.ok, scheduled, now)
            return
        if self.run.stopping:
            conn.close()
        else:
            self.idle.append(conn)

    def on_lost(self, conn: Connection) -> None:
        self.run.connections.discard(conn)
        try:
            self.idle.remove(conn)
        except ValueError:
            pass
        if self.pending:
            self.grow()

    def drop_stale(self, now: float) -> None:
        """Called by the watchdog: arrivals that waited longer than the slack are dropped."""
        pending = self.pending
        slack = self.run.plan.slack
        while pending and now - pending[0][0] > slack:
            pending.popleft()[1].stats.dropped += 1

    def drop_all(self) -> None:
        while self.pending:
            self.pending.popleft()[1].stats.dropped += 1

    def start_flow(self, entry: Entry, scheduled: float, now: float) -> None:
        run = self.run
        if self.active_flows >= run.plan.max_connections:
            entry.stats.dropped += 1
            return
        user = self.flow_users.pop() if self.flow_users else run.new_user(self.next_user_index())
        self.active_flows += 1

        async def iteration() -> None:
            try:
                await run_flow_entry(run, user, entry)
            finally:
                self.active_flows -= 1
                self.flow_users.append(user)

        run.spawn(iteration())

    def next_user_index(self) -> int:
        self.user_count += 1
        return self.user_count

    @property
    def busy(self) -> bool:
        return bool(self.pending) or self.active_flows > 0 or any(c.in_flight for c in self.run.connections)

    def close(self) -> None:
        for conn in list(self.run.connections):
            conn.close()
        for user in self.flow_users:
            user.close()
