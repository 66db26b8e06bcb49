"""``prodgate watch``: the gates that guard a deploy keep guarding production after it.

A watcher runs the selected gates every interval, each cycle a fresh pytest run in a subprocess
(``scheduler.py``), turns each gate's verdicts into a state with N-in-a-row rules (``states.py``),
keeps that state in a small SQLite file written once per cycle (``store.py``), appends every
cycle to a JSONL history (``history.py``), tells people about state changes through alert channels
(``alerts.py``, ``channels.py``: a JSON webhook and Apprise URLs) and exposes the figures to
Prometheus (``metrics.py``). ``prodgate status`` (``status.py``) reads the state and the history.

Nothing here imports pytest; Apprise and prometheus-client are imported only when used.
"""

from __future__ import annotations
