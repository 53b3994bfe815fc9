"""The robust-aggregation table's link selection and paired intervals, by hand."""

import math

import pytest

from semnet.analysis.robust import interval, victims


def test_victims_are_the_links_into_the_faulty_users_receivers():
    links = [{"src": s, "dst": d} for s, d in [(0, 1), (0, 2), (1, 0), (2, 1), (3, 4), (1, 2)]]
    # 0 sends to 1 and 2: every link into 1 or 2 is hurt; 0's own decoder (link 1->0) is not
    assert [(l["src"], l["dst"]) for l in victims(links, {0})] == [(0, 1), (0, 2), (2, 1), (1, 2)]


def test_interval_is_the_student_t_half_width():
    mean, half = interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)  # t(0.975, 2)
    assert math.isnan(interval([5.0])[1])
