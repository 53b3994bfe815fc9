import math

import pytest

from tests.reference_machine import assert_close


def test_last_bits_pass_and_a_real_change_fails():
    x = 0.37419965958274704
    assert_close({"t": [x, 1, "a"]}, {"t": [math.nextafter(x, 1.0), 1, "a"]})
    with pytest.raises(AssertionError, match=r"\.t\[0\]"):
        assert_close({"t": [x * (1 + 1e-7), 1, "a"]}, {"t": [x, 1, "a"]})
    with pytest.raises(AssertionError, match=r"\.t\[1\]"):
        assert_close({"t": [x, 2, "a"]}, {"t": [x, 1, "a"]})

