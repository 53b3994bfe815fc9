"""The ns-3 half of the cross-check (``benchmarks/ns3_crosscheck.py``): one message
schedule through ns-3.44's 802.11a ad hoc network.

Each message is ``packets`` UDP datagrams of :data:`PAYLOAD_BYTES` (1,500-byte IP
packets, no fragmentation), all handed to the sender's socket at the message's
submission time (a ``UdpClient`` whose packets are 1 us apart, far below one
packet's airtime) on a port of its own, so that FlowMonitor keeps one flow per
message. A message completes when its last packet is received.

PHY and channel, matched to semnet's path loss: YANS PHY, one 20 MHz channel, a
fixed OFDM mode for data and control frames (``ConstantRateWifiManager``),
log-distance path loss ``L(d) = L0 + 10 n log10(d / d0)``, constant-speed
propagation delay, the same transmit power, and a receiver noise figure that makes
ns-3's noise ``-174 dBm/Hz + 10 log10(20 MHz) + NF`` equal to semnet's
``noise_power_dbm``. ARP caches are filled before the run (no ARP exchange).

Needs the ``ns3`` package (``pip install semnet[ns3]``); importing this module
imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ns import ns

PAYLOAD_BYTES = 1472  # UDP payload of a 1,500-byte IP packet (the SeqTs header of UdpClient inside it)
CHANNEL_WIDTH_HZ = 20e6
THERMAL_DBM_PER_HZ = -174.0
_FIRST_PORT = 9000
_PACKET_GAP = 1e-6  # s between a message's packets at the socket: all queued at once in effect


@dataclass(frozen=True)
class Radio:
    """What both simulators share: the 802.11a mode and the link budget."""

    mode: str = "OfdmRate24Mbps"
    rate_bps: float = 24e6
    tx_power_dbm: float = 20.0
    noise_power_dbm: float = -94.0  # ns-3's default noise figure 7 dB over 20 MHz
    exponent: float = 3.0
    reference_distance_m: float = 1.0
    reference_loss_db: float = 40.0
    cca_sensitivity_dbm: float = -82.0  # ns-3's default: a frame above it makes the medium busy

    @property
    def noise_figure_db(self) -> float:
        return self.noise_power_dbm - THERMAL_DBM_PER_HZ - 10.0 * math.log10(CHANNEL_WIDTH_HZ)


@dataclass(frozen=True)
class Send:
    """One message: ``packets`` datagrams of PAYLOAD_BYTES from ``src`` to ``dst`` at ``t_s``."""

    src: int
    dst: int
    t_s: float
    packets: int

    @property
    def payload_bytes(self) -> int:
        return self.packets * PAYLOAD_BYTES


@dataclass(frozen=True)
class Done:
    """How a message went in ns-3: when its last packet arrived, how many arrived."""

    end_s: float
    received: int


def run_ns3(positions_m: dict[int, tuple[float, float]], sends: list[Send], radio: Radio, *, seed: int = 1,
            horizon_s: float = 10.0) -> list[Done]:
    """Run ``sends`` through an 802.11a ad hoc network of nodes at ``positions_m`` (node
    ids ``0..n-1``); one :class:`Done` per send, in order. ``end_s`` is NaN where no
    packet arrived."""
    nodes_n = len(positions_m)
    if sorted(positions_m) != list(range(nodes_n)):
        raise ValueError(f"positions_m must name nodes 0..{nodes_n - 1}, got {sorted(positions_m)}")
    ns.RngSeedManager.SetSeed(seed)
    ns.RngSeedManager.SetRun(1)
    nodes = ns.NodeContainer()
    nodes.Create(nodes_n)
    devices = _wifi(nodes, radio)
    _place(nodes, positions_m)
    ns.InternetStackHelper().Install(nodes)
    addresses = ns.Ipv4AddressHelper()
    addresses.SetBase(ns.Ipv4Address("10.1.0.0"), ns.Ipv4Mask("255.255.0.0"))
    interfaces = addresses.Assign(devices)
    ns.NeighborCacheHelper().PopulateNeighborCache()

    apps = []  # keep the Python handles alive until the run ends
    for i, send in enumerate(sends):
        port = _FIRST_PORT + i
        server = ns.UdpServerHelper(port).Install(nodes.Get(send.dst))
        server.Start(ns.Seconds(0.0))
        client = ns.UdpClientHelper(interfaces.GetAddress(send.dst).ConvertTo(), port)
        client.SetAttribute("MaxPackets", ns.UintegerValue(send.packets))
        client.SetAttribute("Interval", ns.TimeValue(ns.Seconds(_PACKET_GAP)))
        client.SetAttribute("PacketSize", ns.UintegerValue(PAYLOAD_BYTES))
        app = client.Install(nodes.Get(send.src))
        app.Start(ns.Seconds(send.t_s))
        apps += [server, app]
    helper = ns.FlowMonitorHelper()
    monitor = helper.InstallAll()
    ns.Simulator.Stop(ns.Seconds(horizon_s))
    ns.Simulator.Run()
    monitor.CheckForLostPackets()
    classifier = ns.DynamicCast[ns.Ipv4FlowClassifier](helper.GetClassifier())
    by_port = {}
    for flow_id, stats in monitor.GetFlowStats():
        port = classifier.FindFlow(flow_id).destinationPort
        by_port[port] = Done(stats.timeLastRxPacket.GetSeconds() if stats.rxPackets else math.nan,
                             int(stats.rxPackets))
    ns.Simulator.Destroy()
    return [by_port.get(_FIRST_PORT + i, Done(math.nan, 0)) for i in range(len(sends))]


def _wifi(nodes, radio: Radio):
    wifi = ns.WifiHelper()
    wifi.SetStandard(ns.WIFI_STANDARD_80211a)
    wifi.SetRemoteStationManager("ns3::ConstantRateWifiManager", "DataMode", ns.StringValue(radio.mode),
                                 "ControlMode", ns.StringValue(radio.mode))
    channel = ns.YansWifiChannelHelper()
    channel.SetPropagationDelay("ns3::ConstantSpeedPropagationDelayModel")
    channel.AddPropagationLoss("ns3::LogDistancePropagationLossModel",
                               "Exponent", ns.DoubleValue(radio.exponent),
                               "ReferenceDistance", ns.DoubleValue(radio.reference_distance_m),
                               "ReferenceLoss", ns.DoubleValue(radio.reference_loss_db))
    phy = ns.YansWifiPhyHelper()
    phy.SetChannel(channel.Create())
    phy.Set("TxPowerStart", ns.DoubleValue(radio.tx_power_dbm))
    phy.Set("TxPowerEnd", ns.DoubleValue(radio.tx_power_dbm))
    phy.Set("RxNoiseFigure", ns.DoubleValue(radio.noise_figure_db))
    phy.Set("CcaSensitivity", ns.DoubleValue(radio.cca_sensitivity_dbm))
    mac = ns.WifiMacHelper()
    mac.SetType("ns3::AdhocWifiMac")
    devices = wifi.Install(phy, mac, nodes)
    # fixed stream numbers: the backoff draws depend on the seed only, not on what ran before in the process
    wifi.AssignStreams(devices, 0)
    return devices


def _place(nodes, positions_m: dict[int, tuple[float, float]]) -> None:
    allocator = ns.ListPositionAllocator()
    for node in range(len(positions_m)):
        x, y = positions_m[node]
        allocator.Add(ns.Vector(float(x), float(y), 0.0))
    mobility = ns.MobilityHelper()
    mobility.SetPositionAllocator(allocator)
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel")
    mobility.Install(nodes)
