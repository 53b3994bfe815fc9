"""The statistics behind the verdicts, against hand computations."""

from __future__ import annotations

import math

import pytest

from semnet.analysis.stats import holm, one_sided_p, paired_interval


def test_holm_steps_down_and_stays_monotone():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, max(1 x 0.04, 0.06)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, math.nan, 0.6])[0] == pytest.approx(1.0) and math.isnan(holm([0.5, math.nan, 0.6])[1])


def test_paired_interval_is_the_student_t_interval():
    low, high = paired_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.302653
    assert (low, high) == pytest.approx((2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), rel=1e-6)
    assert all(math.isnan(v) for v in paired_interval([1.0]))


def test_one_sided_p_of_a_paired_t_test():
    # t = mean / (sd / sqrt n) = 2 / (1 / sqrt 3) = sqrt 12 with 2 dof, whose tail has the closed
    # form 1/2 (1 - t / sqrt(t^2 + 2))
    t = math.sqrt(12.0)
    assert one_sided_p([1.0, 2.0, 3.0]) == pytest.approx(0.5 * (1 - t / math.sqrt(t * t + 2)), rel=1e-9)
    assert one_sided_p([0.2] * 4) == 0.0 and one_sided_p([-0.2] * 4) == 1.0
