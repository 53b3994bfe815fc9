"""``extends:`` with a list: the entries merge in order (a later one wins), then the file itself."""


import pytest

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import ScenarioError
from semnet.scenario import load_scenario, read_yaml
from semnet.scenario.yaml_text import MAX_EXTENDS


@pytest.fixture
def files(tmp_path):
    def write(**texts):
        for name, text in texts.items():
            (tmp_path / f"{name}.yaml").write_text(text)
        return tmp_path

    return write


A = "seed: 1\ntopology: {kind: ring, num_users: 5}\nlinks: {snr_db: 3.0, latency_s: 0.002, rate: {mode: fixed, rate_bps: 5.0e6}}\n"
B = "seed: 2\nlinks: {snr_db: 7.0, bandwidth_hz: 2.0e6, rate: {mode: shannon}}\n"


def test_a_list_merges_in_order_later_entries_win_then_the_file(files):
    root = files(a=A, b=B, ab="extends: [a.yaml, b.yaml]\nname: ab\n", ba="extends: [b.yaml, a.yaml]\nname: ba\n",
                 own="extends: [a.yaml, b.yaml]\nname: own\nseed: 9\nlinks: {snr_db: 11.0}\n")
    ab = load_scenario(root / "ab.yaml")
    assert (ab.seed, ab.links.snr_db) == (2, 7.0)  # b, the later entry, wins on the keys both set
    assert ab.links.latency_s == 0.002 and ab.links.bandwidth_hz == 2.0e6  # sections merge key by key
    assert ab.links.rate.mode == "shannon" and ab.links.rate.rate_bps == 5.0e6  # nested mappings too
    assert ab.topology.num_users == 5  # a key only a set
    ba = load_scenario(root / "ba.yaml")
    assert (ba.seed, ba.links.snr_db, ba.links.rate.mode) == (1, 3.0, "fixed")  # the other order, the other winner
    assert ba.links.bandwidth_hz == 2.0e6 and ba.links.rate.rate_bps == 5.0e6
    own = load_scenario(root / "own.yaml")
    assert (own.name, own.seed, own.links.snr_db, own.links.bandwidth_hz) == ("own", 9, 11.0, 2.0e6)  # the file last


def test_a_one_entry_list_equals_the_single_path(files):
    root = files(a=A, one="extends: [a.yaml]\nname: x\n", single="extends: a.yaml\nname: x\n")
    assert read_yaml(root / "one.yaml") == read_yaml(root / "single.yaml")


def test_each_entry_brings_its_own_extends_resolved(files):
    # c extends a; listed after b, c brings a's keys with it and they win over b's
    root = files(a=A, b=B, c="extends: a.yaml\nlinks: {latency_s: 0.004}\n", bc="extends: [b.yaml, c.yaml]\n")
    bc = load_scenario(root / "bc.yaml")
    assert (bc.seed, bc.links.snr_db, bc.links.latency_s, bc.links.bandwidth_hz) == (1, 3.0, 0.004, 2.0e6)


def test_a_diamond_is_not_a_cycle(files):
    root = files(d="seed: 4\n", b="extends: d.yaml\nlinks: {snr_db: 1.0}\n", c="extends: d.yaml\nlinks: {latency_s: 0.0}\n",
                 top="extends: [b.yaml, c.yaml]\n")
    top = load_scenario(root / "top.yaml")
    assert (top.seed, top.links.snr_db, top.links.latency_s) == (4, 1.0, 0.0)


def test_a_later_entry_of_another_topology_kind_drops_the_old_kinds_keys(files):
    root = files(rgg="topology: {kind: random_geometric, num_users: 7, radius_m: 35.0}\n",
                 ring="topology: {kind: ring}\n", mix="extends: [rgg.yaml, ring.yaml]\n")
    topology = load_scenario(root / "mix.yaml").topology
    assert topology.kind == "ring" and topology.num_users == 7 and not hasattr(topology, "radius_m")


@pytest.mark.parametrize("extends, expected", [
    ("[a.yaml, 3]", "extends[1] = 3: expected the path of another scenario file"),
    ("[a.yaml, {b: 1}]", "extends[1] = {'b': 1}: expected the path of another scenario file"),
    ("[a.yaml, nope.yaml]", "extends[1] = 'nope.yaml': no such scenario file"),
    ("[]", "extends = []: expected the path of another scenario file, or a list of them"),
    ("{a: a.yaml}", "extends = {'a': 'a.yaml'}: expected the path of another scenario file, or a list"),
    ("[a.yaml, loop.yaml]", "extends[1] = 'loop.yaml': "),
])
def test_a_bad_entry_is_one_line_naming_it(files, capsys, extends, expected):
    root = files(a=A, loop="extends: [a.yaml, bad.yaml]\n", bad=f"extends: {extends}\n")
    path = str(root / "bad.yaml")
    rc = main(["validate", path])
    lines = capsys.readouterr().err.splitlines()
    assert rc == EXIT_USER_ERROR and len(lines) == 1, lines
    assert lines[0].startswith(f"semnet: error: {path}: ") and expected in lines[0], lines[0]
    if "loop" in extends:
        assert "makes a cycle" in lines[0]


def test_a_cycle_through_a_list_is_found(files):
    root = files(a="extends: [c.yaml, b.yaml]\n", b="extends: [c.yaml, a.yaml]\n", c="seed: 1\n")
    with pytest.raises(ScenarioError, match=r"b\.yaml: extends\[1\] = 'a\.yaml' makes a cycle"):
        load_scenario(root / "a.yaml")


def test_files_read_through_lists_are_bounded(files):
    # each file lists the next one twice: 2**20 reads unbounded; the bound stops it at MAX_EXTENDS
    texts = {f"f{i}": f"extends: [f{i + 1}.yaml, f{i + 1}.yaml]\n" for i in range(20)}
    root = files(**texts, f20="seed: 1\n")
    with pytest.raises(ScenarioError, match=f"more than {MAX_EXTENDS} files extend each other"):
        read_yaml(root / "f0.yaml")
    wide = files(many="extends: [" + ", ".join(["f20.yaml"] * (MAX_EXTENDS + 1)) + "]\n")
    with pytest.raises(ScenarioError, match=rf"extends\[{MAX_EXTENDS}\] = 'f20\.yaml': more than"):
        read_yaml(wide / "many.yaml")
    ok = files(enough="extends: [" + ", ".join(["f20.yaml"] * MAX_EXTENDS) + "]\n")
    assert read_yaml(ok / "enough.yaml") == {"seed": 1}
