"""Digital live images (``traffic.digital``): packets on the link's message path, checked
against closed forms and files Pillow writes here, not against the code's own numbers.

- an image's bits never exceed ``floor(k log2(1 + SNR))`` (capacity) or ``floor(k eta)``
  of the CQI entry (mcs), and are the size of the file Pillow writes at the quality sent;
- on a static AWGN link at capacity with nothing else on it no image is lost, and each
  arrives ``bits / R + latency`` after it was generated (``R = B log2(1 + SNR)``);
- at a rate whose CQI threshold is above the SNR every image is lost, and the receiver
  shows what the documentation says (``previous``: the last image it showed on the link,
  the dataset mean before any; ``mean``: the dataset mean).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from semnet.fl.loop.digital_traffic import DigitalImageDecoder
from semnet.models import Channel
from semnet.net.cqi_table import CQI_TABLE
from semnet.net.network import AGGREGATOR
from semnet.sim import Simulator
from semnet.sim.traffic import ImageSent, PacketSent, TrafficPlan
from tests.digital.test_codec_search import _images
from tests.sim.test_engine import make_link, make_network

B = 1e6  # Hz
LAT = 0.005  # s


def textured_images(n: int, seed: int) -> torch.Tensor:
    """``n`` 32x32 textured colour gradients, ``uint8`` ``(n, 3, 32, 32)``."""
    return torch.from_numpy(_images(n, seed)).permute(0, 3, 1, 2).contiguous()


TEST = {0: textured_images(12, 0), 1: textured_images(12, 1)}


def images_of(rate="capacity", fallback="previous", codec="webp", k=256, margin_db=0.0) -> DigitalImageDecoder:
    return DigitalImageDecoder(TEST, Channel("none"), torch.device("cpu"), seed=3, codec=codec, rate=rate,
                               fallback=fallback, symbols=k, margin_db=margin_db)


def digital_sim(link, decoder, images_per_s=5.0, arrivals="periodic") -> Simulator:
    net = make_network(link)
    plan = TrafficPlan(images_per_s=images_per_s, symbols=decoder.images.symbols, links=((link.src, link.dst),),
                       arrivals=arrivals, digital=decoder.sender)
    return Simulator(net, seed=1, compute_speed={n: 100.0 for n in (*net.users, AGGREGATOR)}, traffic=plan)


def booked(sim: Simulator, t_s: float) -> list[ImageSent]:
    sim.wait(t_s - sim.now_s)
    sim.catch_up()
    return sim.traffic.take()


def webp_bits(image: torch.Tensor, quality: int) -> int:
    buffer = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).numpy(), "RGB").save(buffer, format="WEBP", quality=quality, method=4)
    return 8 * len(buffer.getvalue())


def psnr_db(shown: np.ndarray, original: np.ndarray) -> float:
    mse = np.mean((shown.astype(float) - original.astype(float) / 255.0) ** 2)
    return 10 * math.log10(1.0 / mse)


# --------------------------------------------------------------------------- budgets


@settings(max_examples=25, deadline=None)
@given(snr_db=st.floats(-5, 30), k=st.integers(64, 1024), n=st.integers(0, 40), rate=st.sampled_from(["capacity", "mcs"]))
def test_an_image_never_takes_more_bits_than_its_channel_uses_carry(snr_db, k, n, rate):
    decoder = images_of(rate=rate, k=k)
    bits, budget, rung, threshold = decoder.sender.packet(0, 1, n, snr_db, None)
    if rate == "capacity":
        assert budget == math.floor(k * math.log2(1 + 10 ** (snr_db / 10)) + 1e-9) and threshold is None
    else:
        usable = [e for e in CQI_TABLE if e.threshold_snr_db <= snr_db]
        assert budget == (math.floor(k * usable[-1].efficiency_bits + 1e-9) if usable else 0)
        assert threshold == (usable[-1].threshold_snr_db if usable else None)
    assert bits <= budget
    image = TEST[0][decoder.image_index(0, 1, n)]
    if rung is None:
        assert bits == 0 and webp_bits(image, 0) > budget  # not even the lowest quality fits
    else:
        quality = decoder.images.setting(rung)
        assert bits == webp_bits(image, quality)
        # the highest quality that fits: none above it does
        assert all(webp_bits(image, q) > budget for q in range(quality + 1, 101))


# --------------------------------------------------------------------------- the message path


def test_on_a_static_awgn_link_at_capacity_no_image_is_lost_and_each_takes_bits_over_rate():
    snr_db = 20.0
    link = make_link(0, 1, snr_db=snr_db, rate_mode="shannon", backoff=1.0, latency_s=LAT, packet_bits=800)
    decoder = images_of(rate="capacity")
    images = booked(digital_sim(link, decoder, images_per_s=5.0), 10.0)
    assert len(images) == pytest.approx(50, abs=1)
    rate_bps = B * math.log2(1 + 10 ** (snr_db / 10))
    for image in images:
        packet = image.packet
        assert packet.delivered and packet.plan.rung is not None and packet.plan.bits > 0
        assert packet.attempts == math.ceil(packet.plan.bits / 800)  # no retransmission on a static link
        assert image.t_start_s == image.t_gen_s  # an idle link: 5 images/s of < 2 ms each never queue
        assert image.t_end_s - image.t_gen_s == pytest.approx(packet.plan.bits / rate_bps + LAT, rel=1e-12)
    # at backoff 1 a capacity packet takes at most the JSCC image's k channel uses
    assert max(im.t_end_s - im.t_start_s - LAT for im in images) <= 256 / B + 1e-12


def test_on_a_fixed_rate_link_the_latency_is_bits_over_the_configured_rate():
    link = make_link(0, 1, snr_db=25.0, rate_bps=2e6, latency_s=LAT)
    images = booked(digital_sim(link, images_of(rate="capacity")), 4.0)
    assert images and all(im.packet.delivered for im in images)
    for image in images:
        assert image.t_end_s - image.t_gen_s == pytest.approx(image.packet.plan.bits / 2e6 + LAT, rel=1e-12)


def test_a_faded_link_retransmits_and_loses_packets_as_the_message_path_does():
    # Rayleigh at backoff 1: each attempt fails with P(|h|^2 < 1) = 1 - 1/e; two tries
    link = make_link(0, 1, snr_db=20.0, rate_mode="shannon", backoff=1.0, fading="rayleigh", packet_bits=10**6,
                     max_retries=1)
    images = booked(digital_sim(link, images_of(rate="capacity"), images_per_s=50.0, arrivals="poisson"), 40.0)
    lost = np.mean([not im.packet.delivered for im in images])
    retried = np.mean([im.packet.attempts == 2 for im in images])
    p = 1 - math.exp(-1)
    n = len(images)
    assert n > 1500
    assert abs(lost - p * p) < 4 * math.sqrt(p * p * (1 - p * p) / n)
    assert abs(retried - p) < 4 * math.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- losses and fallbacks


def test_below_the_mcs_threshold_every_image_is_lost_and_the_receiver_shows_the_mean():
    # told 10 dB, a margin of -3 dB picks the entry for 13 dB (CQI 10, threshold 11.7 dB) > 10 dB
    link = make_link(0, 1, snr_db=10.0, rate_mode="shannon", backoff=1.0)
    decoder = images_of(rate="mcs", margin_db=-3.0, fallback="previous")
    images = booked(digital_sim(link, decoder), 4.0)
    cqi10 = CQI_TABLE[9]
    assert images and all(im.packet.plan.threshold_db == cqi10.threshold_snr_db for im in images)
    assert all(im.packet.plan.bits > 0 and not im.packet.delivered for im in images)  # sent, never decoded
    scores = decoder.score(images, [(None, None)] * len(images), [False] * len(images), {}, "main")
    mean = np.concatenate([TEST[0].numpy(), TEST[1].numpy()]).astype(float).mean(axis=0) / 255.0
    for image, (lost, psnr, extra) in zip(images, scores):
        original = TEST[0][decoder.image_index(0, 1, image.n)].numpy()
        assert lost and psnr is None and extra["fallback"] == "previous"
        assert extra["shown_psnr_db"] == pytest.approx(psnr_db(mean, original), abs=1e-3)


def test_below_the_lowest_cqi_entry_nothing_is_sent():
    link = make_link(0, 1, snr_db=-10.0, rate_mode="shannon", backoff=1.0)
    images = booked(digital_sim(link, images_of(rate="mcs")), 2.0)
    assert images and all(im.packet.plan.bits == 0 and im.packet.attempts == 0 for im in images)
    assert all(im.t_end_s == im.t_start_s == im.t_gen_s for im in images)  # no airtime, shown at once


def _sent(n, t_end_s, rung, delivered=True):
    plan = (8 * 100, 8 * 100, rung, None)
    return ImageSent(0, 1, n, t_end_s - 0.01, t_end_s - 0.01, t_end_s, 20.0, None, {}, PacketSent(plan, delivered, 1, 20.0))


@pytest.mark.parametrize("fallback", ["previous", "mean"])
def test_a_lost_or_late_image_shows_the_fallback_the_documentation_names(fallback):
    decoder = images_of(fallback=fallback)
    rung = 50
    # image 0 decoded; 1 lost on the air; 2 late; 3 decoded; 4 unfit (nothing sent). Given out of order:
    # the receiver shows them in the order they are due
    images = [_sent(3, 0.4, rung), _sent(0, 0.1, rung), _sent(1, 0.2, rung, delivered=False),
              _sent(2, 0.3, rung), _sent(4, 0.5, None)]
    late = [False, False, False, True, False]
    scores = {im.n: s for im, s in zip(images, decoder.score(images, [(None, None)] * 5, late, {}, "main"))}
    original = {n: TEST[0][decoder.image_index(0, 1, n)].numpy() for n in range(5)}

    def decoded(n):  # what Pillow decodes of image n at the rung's quality, independently of the ladder
        buffer = io.BytesIO()
        Image.fromarray(original[n].transpose(1, 2, 0), "RGB").save(buffer, format="WEBP", quality=rung, method=4)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")).transpose(2, 0, 1) / 255.0

    mean = np.concatenate([TEST[0].numpy(), TEST[1].numpy()]).astype(float).mean(axis=0) / 255.0
    for n in (0, 3):
        lost, psnr, extra = scores[n]
        assert not lost and extra["fallback"] is None and psnr == pytest.approx(psnr_db(decoded(n), original[n]), abs=1e-3)
    expected_shown = {1: decoded(0), 2: decoded(0), 4: decoded(3)} if fallback == "previous" else {1: mean, 2: mean, 4: mean}
    for n, shown in expected_shown.items():
        lost, psnr, extra = scores[n]
        assert lost and psnr is None and extra["fallback"] == fallback
        assert extra["shown_psnr_db"] == pytest.approx(psnr_db(shown, original[n]), abs=1e-3)
    assert scores[4][2]["unfit"] and scores[4][2]["quality"] is None


def test_the_last_shown_image_survives_a_checkpoint():
    decoder = images_of(fallback="previous")
    decoder.score([_sent(0, 0.1, 40)], [(None, None)], [False], {}, "main")
    restored = images_of(fallback="previous")
    restored.load_state("main", decoder.state("main"))
    later = [_sent(1, 0.2, 40, delivered=False)]
    assert restored.score(later, [(None, None)], [False], {}, "main") == decoder.score(later, [(None, None)], [False],
                                                                                        {}, "main")
    assert images_of().score(later, [(None, None)], [False], {}, "main")[0][2]["shown_psnr_db"] != \
        restored.score(later, [(None, None)], [False], {}, "main")[0][2]["shown_psnr_db"]  # a fresh one shows the mean


def test_jscc_images_carry_no_packet():
    link = make_link(0, 1)
    net = make_network(link)
    sim = Simulator(net, seed=1, compute_speed={n: 100.0 for n in (*net.users, AGGREGATOR)},
                    traffic=TrafficPlan(images_per_s=5.0, symbols=256, links=((0, 1),), arrivals="periodic"))
    images = booked(sim, 2.0)
    assert images and all(im.packet is None and len(im.as_tuple()) == 9 for im in images)


@pytest.mark.parametrize("queue", ["fifo", "images_first"])
def test_packets_queue_with_model_messages_by_the_policy(queue):
    # a 30 ms model message holds a 10 Mbit/s link, a 10 ms one waits behind it; packets
    # generated meanwhile go after the first, and before the second only with images_first
    from semnet.sim import Message, Task

    rate_bps = 10e6
    link = make_link(0, 1, snr_db=25.0, rate_bps=rate_bps, latency_s=LAT)
    net = make_network(link)
    decoder = images_of(rate="capacity")
    plan = TrafficPlan(images_per_s=250.0, symbols=256, links=((0, 1),), arrivals="periodic", queue=queue,
                       digital=decoder.sender)
    sim = Simulator(net, seed=1, compute_speed={n: 100.0 for n in (*net.users, AGGREGATOR)}, traffic=plan)
    images = booked(sim, 0.1)
    records = []
    sim._sink = records.append
    sim.play_round([Task(key="m1", node=0, uploads=(Message(0, 1, "update", 300_000),)),
                    Task(key="m2", node=0, uploads=(Message(0, 1, "update", 100_000),))])
    images += booked(sim, 0.3)
    air = {im.n: im.packet.plan.bits / rate_bps for im in images}
    assert all(im.packet.delivered and air[im.n] > 0 for im in images)
    t1, m2 = 0.1 + 300_000 / rate_bps, records[1]
    waiting = [im for im in images if 0.1 < im.t_gen_s < t1]
    assert len(waiting) >= 7
    free = t1 if queue == "images_first" else t1 + 100_000 / rate_bps
    for im in waiting:  # back to back, each for its own bits / R
        assert im.t_start_s == pytest.approx(free, abs=1e-12)
        assert im.t_end_s == pytest.approx(free + air[im.n] + LAT, abs=1e-12)
        free += air[im.n]
    if queue == "images_first":
        for im in images:  # m2 waits for every packet generated before the link is free of them
            if t1 <= im.t_gen_s <= free:
                free = max(free, im.t_gen_s) + air[im.n]
        assert m2["t_start_s"] == pytest.approx(free, abs=1e-12)
    else:
        assert m2["t_start_s"] == pytest.approx(t1, abs=1e-12)
