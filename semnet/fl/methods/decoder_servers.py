"""FineFed's per-receiver decoder aggregation: each receiver j combines its
transmitters' updates of ``D_j`` with the scenario's aggregation rule
(``method.finetune.decoder_aggregation``) and moves ``D_j`` with its own server step
(``method.finetune.decoder_server``: one state per receiver, kept over iterations).
The defaults (the mean rule, FedAvg's step, no faults) take FineFed's original path,
bit for bit.
"""

from __future__ import annotations

from torch import nn

from semnet.errors import ScenarioError
from semnet.fl.algorithms.aggregation import apply_average_update, average_into, load_tensors, tensors_of
from semnet.fl.algorithms.rules import make_rule
from semnet.fl.algorithms.servers import PlainServer, differences_from, moved_by
from semnet.registry import algorithms, validated_options


def decoder_server_class(spec) -> tuple[type, object]:
    """The server step class of ``spec.decoder_server.algorithm`` and its validated options."""
    cls = algorithms.get(spec.decoder_server.algorithm)
    return cls.Server, validated_options(cls, spec.decoder_server.options)


class DecoderAggregation:
    """How the receivers of one FineFed run turn decoder copies into new decoders.

    ``servers`` maps receiver -> its server step (shared by every decoder step of the
    run, so that momentum and moments carry over iterations)."""

    def __init__(self, spec, servers: dict):
        self.rule = make_rule(spec.decoder_aggregation.rule, spec.decoder_aggregation.options)
        self.server_class, self.server_options = decoder_server_class(spec)
        self.servers = servers

    def check(self, topology) -> None:
        """Every receiver has enough transmitters for the rule (one line otherwise)."""
        for j in topology.users:
            n = len(topology.transmitters(j))
            why = self.rule.check_clients(n) if n else None
            if why:
                key = "method.finetune.decoder_aggregation.options"
                raise ScenarioError(f"{key}: receiver {j} has {n} transmitters: {self.rule_name()} {why}")

    def prepare(self, topology, decoders: dict) -> None:
        """Build every receiver's server step now, not at its first aggregation, so that
        a resumed run holds the objects its checkpoint restores into (FedAvg's step keeps
        no state and is left out, so default runs checkpoint what they always did)."""
        if self.server_class is PlainServer:
            return
        for j in topology.users:
            if topology.transmitters(j):
                self.server_of(j, decoders[j])

    def rule_name(self) -> str:
        return type(self.rule).__name__

    def plain(self, faults) -> bool:
        """FedAvg on the copies, no faults: the original arithmetic applies."""
        return self.rule.plain and self.server_class is PlainServer and not faults.any_in("decoders")

    def server_of(self, j: int, decoder: nn.Module):
        if j not in self.servers:
            self.servers[j] = self.server_class((decoder,), self.server_options)
        return self.servers[j]

    def aggregate(self, j: int, decoder: nn.Module, copies: list, weights: list[float], *, exact: bool,
                  decoded_updates, faults) -> None:
        """Move receiver j's ``decoder`` by its transmitters' ``copies`` ``[(i, trained copy)]``.
        ``decoded_updates()``: the copies' updates as j decodes them (lossy codecs)."""
        if self.plain(faults):
            if exact:
                average_into(decoder, [c for _, c in copies], weights)
            else:
                load_tensors(decoder, apply_average_update(tensors_of(decoder), decoded_updates(), weights))
            return
        current = tensors_of(decoder)
        updates = differences_from(current, [tensors_of(c) for _, c in copies]) if exact else decoded_updates()
        updates = [faults.apply(u, i, "decoders", j) for (i, _), u in zip(copies, updates, strict=True)]
        combined = moved_by(current, self.rule.combine(updates, weights))
        load_tensors(decoder, self.server_of(j, decoder).step(current, combined, len(copies)))
