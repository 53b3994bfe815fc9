"""numba is imported when a compiled loop is first wanted, not with the simulator: a
run whose links never take those loops does not pay its import (about 0.3 s of CPU)."""

import subprocess
import sys

import pytest

CHECK = """
import sys
import semnet.assembly, semnet.runner, semnet.sim, semnet.net.arq, semnet.net.block_fading
assert "numba" not in sys.modules, "numba imported with the simulator"
from semnet.net import arq_compiled, block_fading_compiled
import importlib.util
if importlib.util.find_spec("numba") is not None:
    assert arq_compiled.attempts is not None and block_fading_compiled.block_message is not None
    assert "numba" in sys.modules
print("ok")
"""


def test_numba_waits_for_the_first_compiled_loop():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_an_unknown_name_is_still_an_attribute_error():
    from semnet.net import arq_compiled, block_fading_compiled

    for module in (arq_compiled, block_fading_compiled):
        with pytest.raises(AttributeError):
            module.no_such_loop  # noqa: B018
