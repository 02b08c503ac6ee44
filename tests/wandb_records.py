"""Reads an offline W&B run file (``run-*.wandb``) so tests can check what was logged.

The file is a LevelDB-style log: a 7-byte header (":W&B", magic, version), then 32 KiB
blocks of records, each with a 7-byte header (crc32, length, type: 1 full, 2 first,
3 middle, 4 last) and a protobuf ``Record`` as payload.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32 * 1024
HEADER = 7


def payloads(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        space = BLOCK - pos % BLOCK
        if space < HEADER:  # block trailer padding
            pos += space
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            out.append(pending)
    return out


@dataclass
class OfflineRun:
    group: str = ""
    name: str = ""
    run_id: str = ""
    finished: bool = False  # an exit record: wandb.finish() ran
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summaries: dict[str, set[str]] = field(default_factory=dict)  # metric -> {"min", ...}


def read_run(path: Path) -> OfflineRun:
    run = OfflineRun()
    for payload in payloads(path):
        record = pb.Record()  # type: ignore[attr-defined]
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "exit":
            run.finished = True
            continue
        if kind == "run":
            run.group, run.name = record.run.run_group, record.run.display_name
            run.run_id = record.run.run_id
            updates = record.run.config.update
        elif kind == "config":
            updates = record.config.update
        elif kind == "metric":
            summary = record.metric.summary
            kinds = {k for k in ("min", "max", "mean", "last") if getattr(summary, k)}
            run.summaries[record.metric.name] = kinds
            continue
        elif kind == "history":
            row = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
                   for item in record.history.item}  # fmt: skip
            run.history.append(row)
            continue
        else:
            continue
        for item in updates:
            run.config[item.key] = json.loads(item.value_json)
    return run
