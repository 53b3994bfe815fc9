"""Link adaptation (links.rate.mode: mcs) in the simulator, with and without the
interference book, on dedicated links and node radios: the entry follows a step change
of the SINR one message late, an attempt under the entry's threshold fails, and on a
Rayleigh link that meets noise only the per-attempt failure probability is
1 - exp(-theta / snr)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.net.interference_gains import InterferenceSettings
from semnet.sim import Message
from tests.net.test_mcs import EFFICIENCY, THRESHOLD_DB
from tests.sim.test_interference import law_db, lin, sim_of, sinr_network

MCS = {"rate_mode": "mcs", "packet_bits": 10_000, "max_retries": 1}
# victim 1 -> 0 (10 m: 30 dB); interferer 2 -> 4, node 2 at 13 m from 0 (INR 26.6 dB)
POS = {0: (0.0, 0.0), 1: (10.0, 0.0), 2: (0.0, 13.0), 4: (0.0, 40.0)}


@pytest.mark.parametrize("medium", ["dedicated", "node_radio"])
@pytest.mark.parametrize("interference", [True, False])
def test_the_entry_follows_a_step_change_of_the_sinr_one_message_late(medium, interference):
    net = sinr_network(POS, [(1, 0), (2, 4)], medium=medium, **MCS)
    if not interference:
        net.interference = InterferenceSettings()  # model none: noise only
    records: list[dict] = []
    sim = sim_of(net, records)
    snr_db = law_db(10.0)
    sinr_db = 10 * math.log10(lin(snr_db) / (1 + lin(law_db(13.0))))
    assert THRESHOLD_DB[4] < sinr_db < THRESHOLD_DB[5] and snr_db > THRESHOLD_DB[14]  # CQI 5 under it, 15 without

    def submit(at_s, src, dst, bits):
        if at_s > sim.env.now:
            sim.env.run(until=at_s)
        record, _, _ = sim._submit(Message(src, dst, "m", bits), None, need_record=True)
        return record

    def air(r):
        return r["t_end_s"] - r["t_start_s"] - 0.005

    first = submit(0.0, 1, 0, 200_000)  # nobody else on the air
    blocker = submit(0.1, 2, 4, 50_000_000)  # on the air for about 13 s
    hit = submit(0.2, 1, 0, 200_000)  # picked from the first's SINR (30 dB): too fast under the interferer
    adapted = submit(0.2, 1, 0, 200_000)  # right after it: picked from its SINR
    assert adapted["t_start_s"] == pytest.approx(hit["t_end_s"] - 0.005)
    after = blocker["t_end_s"] + 1.0
    late = submit(after, 1, 0, 200_000)  # the interferer is gone, the link still knows the last SINR
    back = submit(after + 1.0, 1, 0, 200_000)
    cqis = [r["cqi"] for r in (first, hit, adapted, late, back)]
    if not interference:  # SINR = SNR throughout: the fastest entry, always delivered at its rate
        assert cqis == [15] * 5 and all(r["outcome"] == "delivered" for r in (first, hit, adapted, late, back))
        assert air(hit) == pytest.approx(200_000 / (EFFICIENCY[14] * 1e6), rel=1e-12)
        return
    assert cqis == [15, 15, 5, 5, 15]
    # the hit message: every attempt of its 20 packets under CQI 15's threshold fails (2 tries each)
    assert hit["outcome"] == "outage" and hit["attempts"] == 40
    assert air(hit) == pytest.approx(2 * 200_000 / (EFFICIENCY[14] * 1e6), rel=1e-12)
    assert hit["sinr_db"] == pytest.approx(sinr_db, abs=1e-4)
    for r in (adapted, late):  # CQI 5 passes at the SINR it meets, and at the SNR
        assert r["outcome"] == "delivered" and r["attempts"] == 20
        assert air(r) == pytest.approx(200_000 / (EFFICIENCY[4] * 1e6), rel=1e-12)
    assert back["outcome"] == "delivered" and air(back) == pytest.approx(200_000 / (EFFICIENCY[14] * 1e6), rel=1e-12)


@pytest.mark.parametrize("medium", ["dedicated", "node_radio"])
def test_rayleigh_attempts_in_the_book_fail_with_probability_one_minus_exp_of_theta_over_snr(medium):
    # alone in its band (the book plans its packets, with nobody to hear): SINR = SNR = 30 dB, CQI 15
    net = sinr_network(POS, [(1, 0)], medium=medium, fading="rayleigh", rate_mode="mcs", packet_bits=1000,
                       max_retries=10_000)
    records: list[dict] = []
    sim = sim_of(net, records)
    packets = 20_000
    sim._submit(Message(1, 0, "m", 1000 * packets), None)
    [record] = records
    assert record["cqi"] == 15
    p = 1 - math.exp(-lin(THRESHOLD_DB[14]) / lin(law_db(10.0)))
    assert 0.1 < p < 0.9  # the check means something
    p_hat = (record["attempts"] - packets) / record["attempts"]
    assert p_hat == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) ** 2 / packets))


def test_the_shannon_mode_is_left_as_it_was():
    """The same messages in Shannon mode book the same airtimes as the closed form
    R = backoff B log2(1 + sinr0) (the mcs option touches nothing of it)."""
    net = sinr_network(POS, [(1, 0)], rate_mode="shannon", backoff=0.9, packet_bits=10_000, max_retries=0)
    records: list[dict] = []
    sim = sim_of(net, records)
    sim._submit(Message(1, 0, "m", 200_000), None)
    rate = 0.9 * 1e6 * math.log2(1 + lin(law_db(10.0)))
    assert records[0]["t_end_s"] - records[0]["t_start_s"] - 0.005 == pytest.approx(200_000 / rate, rel=1e-12)
    assert "cqi" not in records[0]
    assert np.isfinite(records[0]["sinr_db"])


def test_a_restored_simulator_adapts_as_the_one_that_went_on():
    """A checkpoint keeps what each mcs link knows of its SINR (and finds its last record in
    the book again): the entries and fates after it are those of the run that went on."""
    from semnet.sim import Task

    def make():
        records: list[dict] = []
        return sim_of(sinr_network(POS, [(1, 0), (2, 4)], medium="node_radio", fading="rayleigh", **MCS),
                      records), records

    def round_(made, *messages):
        sim, records = made
        sim.play_round([Task(key=i, node=m.src, uploads=(m,)) for i, m in enumerate(messages)])
        return [(r["src"], r.get("cqi"), r["outcome"], r["attempts"], r["t_end_s"]) for r in records[-len(messages):]]

    rounds = [(Message(1, 0, "m", 200_000),), (Message(2, 4, "m", 2_000_000), Message(1, 0, "m", 400_000)),
              (Message(1, 0, "m", 200_000),), (Message(1, 0, "m", 200_000), Message(2, 4, "m", 900_000))]
    whole = make()
    expected = [round_(whole, *r) for r in rounds]
    assert len({entry[1] for done in expected for entry in done if entry[0] == 1}) > 1  # the entry did change
    first = make()
    for r in rounds[:2]:
        round_(first, *r)
    second = make()
    second[0].load_state(first[0].state())
    assert [round_(second, *r) for r in rounds[2:]] == expected[2:]
