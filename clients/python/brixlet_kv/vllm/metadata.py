"""What travels between the connector's scheduler instance and its worker instances."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._compat import KVConnectorMetadata


@dataclass
class LoadSpec:
    """Copy the blocks of ``keys`` (a chain continuing ``keys[0]``'s parent) into GPU blocks ``block_ids``."""

    req_id: str
    keys: list[bytes]
    block_ids: list[int]


@dataclass
class SaveSpec:
    """Copy GPU blocks ``block_ids`` out under ``keys``; ``parent`` is the key before ``keys[0]`` (None at a chain's root)."""

    req_id: str
    parent: bytes | None
    keys: list[bytes]
    block_ids: list[int]


@dataclass
class BrixletConnectorMetadata(KVConnectorMetadata):
    """Built by the scheduler instance once per step (``build_connector_meta``), bound on every worker."""

    step: int = 0
    loads: list[LoadSpec] = field(default_factory=list)
    saves: list[SaveSpec] = field(default_factory=list)
    #: Requests whose blocks the scheduler kept after they finished, until their saves are done.
    finished_sending: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class RankHello:
    """The HELLO parameters a worker connected with: the scheduler instance queries that rank's
    namespace with exactly these (never with parameters guessed from another rank)."""

    tp_rank: int
    pp_rank: int
    namespace: str
    block_size: int
    layout: str
    #: Shard blocks per vLLM block (``config.Split``).
    parts: int


@dataclass
class BrixletWorkerMeta:
    """What a worker tells the scheduler instance after a step (vLLM's ``build_connector_worker_meta``):
    keys it sealed and keys it found missing on load. Ranks are merged with ``aggregate``: a key counts
    as stored only when every rank stored it (each rank stores its own slice of the block)."""

    #: The step (``BrixletConnectorMetadata.step``) this reports on: its saves are all sealed or failed.
    step: int = -1
    stored: list[bytes] = field(default_factory=list)
    missing: list[bytes] = field(default_factory=list)
    #: HELLO parameters, once per rank after it first connected (concatenated over ranks).
    hello: list[RankHello] = field(default_factory=list)

    def aggregate(self, other: 'BrixletWorkerMeta') -> 'BrixletWorkerMeta':
        theirs = set(other.stored)
        missing = list(dict.fromkeys(self.missing + other.missing))
        hello = list(dict.fromkeys(self.hello + other.hello))
        return BrixletWorkerMeta(min(self.step, other.step), [k for k in self.stored if k in theirs], missing, hello)
