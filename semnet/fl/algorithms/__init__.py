"""Federated algorithms (FedAvg, FedProx, SCAFFOLD, FedAvgM, FedDyn), registered in
:data:`semnet.registry.algorithms`; their client logic as :mod:`client_terms` and their
server arithmetic as pure functions (:mod:`aggregation`)."""
