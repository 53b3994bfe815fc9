"""Split a labelled data set among users: IID, Dirichlet label skew, classes per user, sources.

Every non-IID kind is a matrix of per-user class proportions ``P`` of shape
``(C, U)`` (row ``c`` says how class ``c`` is shared among the ``U`` users; rows sum
to 1). Applying the same ``P`` to the test labels gives each user a test split with
the same label distribution as its training split (:func:`partition_pair`).

All functions are pure: randomness comes only from ``seed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from semnet.errors import DataError
from semnet.seeding import numpy_rng

__all__ = ["PARTITION_KINDS", "partition", "partition_pair"]

log = logging.getLogger(__name__)

#: Allowed ``kind`` values.
PARTITION_KINDS = ("iid", "dirichlet", "classes", "source")

_MAX_ATTEMPTS = 1000

Parts = list[np.ndarray]


def partition(
    labels: np.ndarray,
    num_users: int,
    *,
    kind: str,
    seed: int,
    alpha: float = 0.5,
    classes_per_user: int = 2,
    min_size: int = 1,
) -> Parts:
    """Split the indices of ``labels`` into ``num_users`` disjoint parts.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer labels, shape ``(N,)``, values >= 0.
    num_users : int
        Number of parts ``U`` >= 1.
    kind : {"iid", "dirichlet", "classes", "source"}
        ``"iid"``: a shuffled split into sizes that differ by at most one.
        ``"dirichlet"``: label skew; each class is shared among users with
        proportions drawn from ``Dirichlet(alpha)`` (small ``alpha`` = strong skew).
        ``"classes"``: each user holds ``classes_per_user`` classes, dealt
        round-robin over a shuffled class order (every class is used when
        ``U * classes_per_user >= C``); a class is split equally among its holders.
        ``"source"``: labels are sources (photos, sites); with ``U <= S`` sources
        each source goes whole to one user (users get ``S // U`` or one more),
        with ``U > S`` each user gets one source, shared equally with the other
        users that got it.
    seed : int
        Root seed; the same arguments always give the same parts.
    alpha : float, default 0.5
        Dirichlet concentration (``"dirichlet"`` only), > 0.
    classes_per_user : int, default 2
        Classes per user (``"classes"`` only), in ``[1, C]``.
    min_size : int, default 1
        Every user gets at least this many indices; Dirichlet proportions are
        redrawn (up to 1000 times) until this holds.

    Returns
    -------
    list of numpy.ndarray
        ``U`` ``int64`` index arrays, pairwise disjoint, each in a seeded random
        order (any prefix is a uniform sample of that user's data). They cover all of
        ``range(N)`` except, for ``"classes"`` with ``U * classes_per_user < C``,
        the images of classes no user was dealt.

    Raises
    ------
    DataError
        For an unknown ``kind``, an out-of-range argument, or a request that
        cannot give every user ``min_size`` images.

    Examples
    --------
    >>> import numpy as np
    >>> parts = partition(np.repeat(np.arange(4), 5), 2, kind="classes", seed=0)
    >>> [len(p) for p in parts]
    [10, 10]
    """
    return _partition(labels, None, num_users, kind, seed, alpha, classes_per_user, min_size)[0]


def partition_pair(
    train_labels: np.ndarray,
    test_labels: np.ndarray,
    num_users: int,
    *,
    kind: str,
    seed: int,
    alpha: float = 0.5,
    classes_per_user: int = 2,
    min_size: int = 1,
) -> tuple[Parts, Parts]:
    """Partition a train set and a test set so each user's two splits match in label distribution.

    The non-IID kinds draw one proportion matrix and apply it to both label
    arrays; ``"iid"`` splits each set independently. Test images of classes absent
    from the training labels are given to nobody.

    Parameters
    ----------
    train_labels, test_labels : numpy.ndarray
        Integer labels of shapes ``(N_train,)`` and ``(N_test,)``.
    num_users, kind, seed, alpha, classes_per_user, min_size
        As in :func:`partition`; ``min_size`` applies to the training parts, and
        every user also gets at least one test image.

    Returns
    -------
    train_parts, test_parts : list of numpy.ndarray
        ``U`` shuffled ``int64`` index arrays each, into ``train_labels`` and
        ``test_labels`` respectively.

    Raises
    ------
    DataError
        As :func:`partition`, or if some user would get no test image.
    """
    return _partition(train_labels, test_labels, num_users, kind, seed, alpha, classes_per_user, min_size)


def _partition(train: np.ndarray, test: np.ndarray | None, num_users: int, kind: str, seed: int,
               alpha: float, classes_per_user: int, min_size: int) -> tuple[Parts, Parts]:
    train = _as_labels(train, "labels")
    test = None if test is None else _as_labels(test, "test labels")
    _check_common(train, test, num_users, kind, min_size)
    if kind == "iid":
        return (_iid(len(train), num_users, numpy_rng(seed, "partition", kind, "train")),
                [] if test is None else _iid(len(test), num_users, numpy_rng(seed, "partition", kind, "test")))

    classes = np.unique(train)
    draw = _proportion_drawer(kind, classes, num_users, alpha, classes_per_user)
    train_sizes = _class_sizes(train, classes)
    test_sizes = None if test is None else _class_sizes(test, classes)
    p_rng = numpy_rng(seed, "partition", kind, "proportions")
    for _ in range(_MAX_ATTEMPTS):
        proportions = draw(p_rng)
        if _counts(train_sizes, proportions).min() < min_size:
            continue
        if test_sizes is not None and _counts(test_sizes, proportions).min() < 1:
            continue
        break
    else:
        raise DataError(_failure(kind, len(train), num_users, alpha, classes_per_user, min_size, test is not None))
    train_parts = _split(train, classes, proportions, numpy_rng(seed, "partition", kind, "train"))
    if test is None:
        return train_parts, []
    dropped = int(np.sum(~np.isin(test, classes)))
    if dropped:
        log.warning("partition: %d test images have classes absent from the training labels; none get them",
                    dropped)
    return train_parts, _split(test, classes, proportions, numpy_rng(seed, "partition", kind, "test"))


def _as_labels(labels: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(f"{what} must be a 1-D integer array, got shape {array.shape} dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{what} must be >= 0, got {array.min()}")
    return array.astype(np.int64, copy=False)


def _check_common(train: np.ndarray, test: np.ndarray | None, num_users: int, kind: str, min_size: int) -> None:
    if kind not in PARTITION_KINDS:
        raise DataError(f"partition kind {kind!r} is not allowed; allowed: {', '.join(PARTITION_KINDS)}")
    if not isinstance(num_users, (int, np.integer)) or num_users < 1:
        raise DataError(f"num_users {num_users!r} is not allowed; allowed: an integer >= 1")
    if not isinstance(min_size, (int, np.integer)) or min_size < 0:
        raise DataError(f"min_size {min_size!r} is not allowed; allowed: an integer >= 0")
    if len(train) < num_users * max(min_size, 1):
        raise DataError(f"cannot give each of {num_users} users at least {max(min_size, 1)} of {len(train)} images; "
                        f"allowed: num_users * min_size <= {len(train)}")
    if test is not None and len(test) < num_users:
        raise DataError(f"cannot give each of {num_users} users a test image from {len(test)}; "
                        f"allowed: num_users <= {len(test)}")


def _iid(n: int, num_users: int, rng: np.random.Generator) -> Parts:
    return list(np.array_split(rng.permutation(n).astype(np.int64), num_users))


def _proportion_drawer(kind: str, classes: np.ndarray, num_users: int, alpha: float,
                       classes_per_user: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Return ``draw(rng) -> P`` with ``P`` of shape ``(len(classes), num_users)``, rows summing to 1."""
    num_classes = len(classes)
    if kind == "dirichlet":
        if not np.isfinite(alpha) or alpha <= 0:
            raise DataError(f"dirichlet alpha {alpha!r} is not allowed; allowed: a finite number > 0")
        return lambda rng: rng.dirichlet(np.full(num_users, float(alpha)), size=num_classes)
    if kind == "classes":
        if not isinstance(classes_per_user, (int, np.integer)) or not 1 <= classes_per_user <= num_classes:
            raise DataError(f"classes_per_user {classes_per_user!r} is not allowed; "
                            f"allowed: an integer in 1..{num_classes} (the number of classes)")
        if num_users * classes_per_user < num_classes:
            log.warning("partition: %d users x %d classes cover only %d of %d classes",
                        num_users, classes_per_user, num_users * classes_per_user, num_classes)

        def deal_classes(rng: np.random.Generator) -> np.ndarray:
            order = rng.permutation(num_classes)
            held = np.zeros((num_classes, num_users))
            for user in range(num_users):
                for j in range(classes_per_user):
                    held[order[(user * classes_per_user + j) % num_classes], user] = 1.0
            return _normalise_rows(held)

        return deal_classes

    def deal_sources(rng: np.random.Generator) -> np.ndarray:
        order = rng.permutation(num_classes)
        held = np.zeros((num_classes, num_users))
        if num_users <= num_classes:
            held[order, np.arange(num_classes) % num_users] = 1.0
        else:
            held[order[np.arange(num_users) % num_classes], np.arange(num_users)] = 1.0
        return _normalise_rows(held)

    return deal_sources


def _normalise_rows(held: np.ndarray) -> np.ndarray:
    totals = held.sum(axis=1, keepdims=True)
    return np.divide(held, totals, out=np.zeros_like(held), where=totals > 0)


def _cuts(n: int, shares: np.ndarray) -> np.ndarray:
    """Boundaries ``(U + 1,)`` that split ``n`` items by ``shares`` (sum 1 or 0), rounding cumulatively."""
    return np.concatenate([[0], np.round(np.cumsum(shares) * n).astype(np.int64)]).clip(0, n)


def _class_sizes(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Number of images of each of ``classes`` in ``labels``, shape ``(C,)``."""
    return np.array([np.count_nonzero(labels == c) for c in classes], dtype=np.int64)


def _counts(class_sizes: np.ndarray, proportions: np.ndarray) -> np.ndarray:
    """Images per user, shape ``(U,)``, that :func:`_split` would produce."""
    return sum((np.diff(_cuts(n, row)) for n, row in zip(class_sizes, proportions)),
               start=np.zeros(proportions.shape[1], dtype=np.int64))


def _split(labels: np.ndarray, classes: np.ndarray, proportions: np.ndarray, rng: np.random.Generator) -> Parts:
    parts: list[list[np.ndarray]] = [[] for _ in range(proportions.shape[1])]
    for c, row in zip(classes, proportions):
        members = rng.permutation(np.flatnonzero(labels == c))
        cuts = _cuts(len(members), row)
        for user in range(len(parts)):
            parts[user].append(members[cuts[user]:cuts[user + 1]])
    # Shuffle each user's indices so that any prefix is a uniform sample of its data, not its first classes.
    return [rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts]


def _failure(kind: str, n: int, num_users: int, alpha: float, classes_per_user: int, min_size: int,
             with_test: bool) -> str:
    test = " and one test image" if with_test else ""
    if kind == "dirichlet":
        return (f"dirichlet partition (alpha={alpha}) of {n} images left a user with fewer than {min_size} "
                f"images{test} in {_MAX_ATTEMPTS} draws; allowed: fewer users, smaller min_size or larger alpha")
    setting = f"classes_per_user={classes_per_user}" if kind == "classes" else "one source per user"
    return (f"{kind} partition ({setting}) of {n} images among {num_users} users cannot give every user "
            f"{min_size} images{test}; allowed: fewer users or smaller min_size")
