"""method.codec at the edge: names listed, mistakes one line with the key path, exit 2."""

import pytest
import yaml

from semnet.cli.main import EXIT_USER_ERROR, main


def _scenario(tmp_path, codec):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"method": {"name": "fedavg", "codec": codec}}))
    return str(path)


def test_list_codecs(capsys):
    assert main(["list", "codecs"]) == 0
    out = capsys.readouterr().out
    for name in ("float32", "float16", "bfloat16", "int8", "int8_channel", "topk10", "topk1", "qsgd8", "qsgd4"):
        assert name in out


@pytest.mark.parametrize("codec, expected", [
    ("int9", ["method.codec = 'int9'", "unknown codec", "allowed: float32"]),
    ({"updates": "nope"}, ["method.codec.updates = 'nope'", "unknown codec"]),
    ({"weights": "int8"}, ["unknown key 'method.codec.weights'", "allowed: global_model, decoders, updates"]),
    ({"global_model": "topk1"}, ["method.codec.global_model = 'topk1'", "differences only", "allowed: float32"]),
    (3, ["method.codec = 3", "string"]),
])
def test_bad_codec_is_one_line(tmp_path, capsys, codec, expected):
    path = _scenario(tmp_path, codec)
    assert main(["validate", path]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for text in expected:
        assert text in err, err


@pytest.mark.parametrize("codec", ["topk1", {"updates": "topk1", "decoders": "int8"}, "qsgd4"])
def test_good_codecs_validate(tmp_path, capsys, codec):
    assert main(["validate", _scenario(tmp_path, codec)]) == 0
