"""Names and one-line descriptions of the methods (no torch import: the scenario
validator and ``semnet list methods`` read this without building anything)."""

METHODS: dict[str, str] = {
    "exchange": "exchange-only protocol: model-sized messages over the graph, no learning (tests the network layer)",
    "centralized": "one model trained on all users' pooled data at the links' SNRs; upper reference (data upload counted)",
    "fedavg": "global model of FedAvg (weighted by data size); every link uses the global encoder and decoder",
    "fedprox": "global model of FedProx (proximal term mu); every link uses the global encoder and decoder",
    "scaffold": "global model of SCAFFOLD (control variates sent as real bytes); every link uses the global model",
    "local_finetune": "federated start + each transmitter fine-tunes its encoder against the frozen global decoder",
    "fedper": "split model (FedPer): shared federated encoder, personal decoder per user trained on its own data",
    "ditto": "Ditto: personal (encoder, decoder) per user pulled to the global model; link i->j uses E_i and D_j",
    "finefed": "FineFed: federated start, then K iterations of multi-task encoder and federated decoder fine-tuning",
    "finefed_encoder_only": "FineFed ablation: encoder fine-tuning step only",
    "finefed_decoder_only": "FineFed ablation: decoder fine-tuning step only",
}

METHOD_NAMES: tuple[str, ...] = tuple(METHODS)
