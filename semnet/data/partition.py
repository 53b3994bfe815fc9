"""Split a labelled data set among users: IID, Dirichlet label skew, classes per user, sources.

Every non-IID kind is a matrix of per-user class proportions ``P`` of shape
``(C, U)`` (row ``c`` says how class ``c`` is shared among the ``U`` users; rows sum
to 1). Applying the same ``P`` to the test labels gives each user a test split with
the same label distribution as its training split (:func:`partition_pair`).

All functions are pure: randomness comes only from ``seed``.

Every kind is a *partitioner* registered in :data:`semnet.registry.partitioners`
(``data.partition.kind``), so a plugin adds one without editing semnet. The contract,
``partitioner(request) -> (train_parts, test_parts)``:

- ``request`` is a :class:`PartitionRequest`: the train (and test, or ``None``) labels
  as ``int64`` arrays, ``num_users``, ``min_size``, the spec's ``alpha`` and
  ``classes_per_user``, its ``options`` (the mapping, or an instance of the
  partitioner's ``Options`` pydantic model when it has that attribute; see
  :func:`validate_options`) and ``request.rng(stream)``, an independent seeded
  generator per stream name; all randomness must come from it.
- It returns ``num_users`` integer index arrays into the train labels, pairwise
  disjoint, each of at least ``min_size``, and likewise for the test labels (each at
  least one), or ``[]`` when ``request.test_labels`` is ``None``. Any order; parts
  are checked (a broken contract is a ``DataError`` naming the partitioner) and
  returned as ``int64``.

A partitioner that deals classes by proportions needs only the matrix ``P``;
:func:`class_shares` turns ``factory(request, classes) -> draw(rng) -> P`` into a
partitioner with the redraws for ``min_size`` and matching test splits::

    from semnet.data.partition import class_shares
    from semnet.registry import partitioners

    @partitioners.register("one_class", "every user holds a single class")
    @class_shares
    def one_class(request, classes):
        def draw(rng):
            held = np.zeros((len(classes), request.num_users))
            held[rng.integers(len(classes), size=request.num_users), np.arange(request.num_users)] = 1.0
            return held / np.maximum(held.sum(axis=1, keepdims=True), 1)
        return draw
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from semnet.errors import DataError
from semnet.registry import UnknownNameError, partitioners
from semnet.seeding import numpy_rng

__all__ = ["PARTITION_KINDS", "PartitionRequest", "class_shares", "partition", "partition_pair", "validate_options"]

log = logging.getLogger(__name__)

#: The built-in ``kind`` values (plugins register more in ``semnet.registry.partitioners``).
PARTITION_KINDS = ("iid", "dirichlet", "classes", "source")

_MAX_ATTEMPTS = 1000

Parts = list[np.ndarray]


@dataclass(frozen=True, eq=False)
class PartitionRequest:
    """What a partitioner is asked to split (see the module docstring for the contract)."""

    train_labels: np.ndarray
    test_labels: np.ndarray | None
    num_users: int
    kind: str
    seed: int
    min_size: int = 1
    alpha: float = 0.5
    classes_per_user: int = 2
    options: Any = None

    def rng(self, stream: str) -> np.random.Generator:
        """A generator for one named stream (``"train"``, ``"test"``...), seeded from
        the root seed and the kind: the same request always draws the same numbers."""
        return numpy_rng(self.seed, "partition", self.kind, stream)


Partitioner = Callable[[PartitionRequest], tuple[Parts, Parts]]


def partition(
    labels: np.ndarray,
    num_users: int,
    *,
    kind: str,
    seed: int,
    alpha: float = 0.5,
    classes_per_user: int = 2,
    min_size: int = 1,
    options: Mapping[str, Any] | None = None,
) -> Parts:
    """Split the indices of ``labels`` into ``num_users`` disjoint parts.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer labels, shape ``(N,)``, values >= 0.
    num_users : int
        Number of parts ``U`` >= 1.
    kind : str
        A registered partitioner; the built-in ones:
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
    options : mapping, optional
        A plugin partitioner's own settings (``data.partition.options``); built-in
        kinds take none.

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
    return _partition(labels, None, num_users, kind, seed, alpha, classes_per_user, min_size, options)[0]


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
    options: Mapping[str, Any] | None = None,
) -> tuple[Parts, Parts]:
    """Partition a train set and a test set so each user's two splits match in label distribution.

    The non-IID kinds draw one proportion matrix and apply it to both label
    arrays; ``"iid"`` splits each set independently. Test images of classes absent
    from the training labels are given to nobody.

    Parameters
    ----------
    train_labels, test_labels : numpy.ndarray
        Integer labels of shapes ``(N_train,)`` and ``(N_test,)``.
    num_users, kind, seed, alpha, classes_per_user, min_size, options
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
    return _partition(train_labels, test_labels, num_users, kind, seed, alpha, classes_per_user, min_size, options)


def validate_options(kind: str, options: Mapping[str, Any] | None) -> Any:
    """``data.partition.options`` as the partitioner of ``kind`` reads them: an instance
    of its ``Options`` pydantic model when it has one, else the mapping as given.

    Raises
    ------
    DataError
        ``kind`` is not registered, or is built in and ``options`` is not empty.
    pydantic.ValidationError
        ``options`` do not fit the partitioner's ``Options``.
    """
    partitioner = _partitioner(kind)
    options = dict(options or {})
    if kind in PARTITION_KINDS:  # the registry refuses a second entry of a built-in name
        if options:
            raise DataError(f"partition kind {kind!r} is built in and takes no options "
                            f"(got {', '.join(map(str, options))}); its settings are alpha and classes_per_user")
        return options
    model = getattr(partitioner, "Options", None)
    return model.model_validate(options) if model is not None else options


def _partitioner(kind: str) -> Partitioner:
    try:
        return partitioners.get(kind)
    except UnknownNameError:
        raise DataError(f"partition kind {kind!r} is not allowed; allowed: {', '.join(partitioners.names())}") from None


def _partition(train: np.ndarray, test: np.ndarray | None, num_users: int, kind: str, seed: int,
               alpha: float, classes_per_user: int, min_size: int,
               options: Mapping[str, Any] | None = None) -> tuple[Parts, Parts]:
    train = _as_labels(train, "labels")
    test = None if test is None else _as_labels(test, "test labels")
    partitioner = _partitioner(kind)
    _check_common(train, test, num_users, min_size)
    request = PartitionRequest(train, test, int(num_users), kind, seed, int(min_size), alpha, classes_per_user,
                               validate_options(kind, options))
    train_parts, test_parts = partitioner(request)
    train_parts = _checked_parts(kind, train_parts, len(train), num_users, min_size, "training")
    if test is None:
        return train_parts, []
    return train_parts, _checked_parts(kind, test_parts, len(test), num_users, 1, "test")


def _checked_parts(kind: str, parts: object, n: int, num_users: int, min_size: int, what: str) -> Parts:
    """A partitioner's parts, checked against the contract and as ``int64`` arrays."""
    where = f"partitioner {kind!r}"
    if not isinstance(parts, (list, tuple)) or len(parts) != num_users:
        raise DataError(f"{where} returned {type(parts).__name__} for the {what} images; "
                        f"it must return a list of {num_users} index arrays")
    out = []
    for user, part in enumerate(parts):
        array = np.asarray(part)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise DataError(f"{where} gave user {user} {what} indices of shape {array.shape} dtype {array.dtype}; "
                            "each part must be a 1-D integer array")
        if array.size < min_size:
            raise DataError(f"{where} gave user {user} {array.size} {what} images; every user needs at least {min_size}")
        out.append(array.astype(np.int64, copy=False))
    joined = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    if joined.size and (joined.min() < 0 or joined.max() >= n):
        raise DataError(f"{where} gave {what} indices outside 0..{n - 1}")
    if joined.size != np.unique(joined).size:
        raise DataError(f"{where} gave some {what} image to more than one user (parts must be disjoint)")
    return out


def _as_labels(labels: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(f"{what} must be a 1-D integer array, got shape {array.shape} dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{what} must be >= 0, got {array.min()}")
    return array.astype(np.int64, copy=False)


def _check_common(train: np.ndarray, test: np.ndarray | None, num_users: int, min_size: int) -> None:
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


# --------------------------------------------------------------------------- built-in partitioners


@partitioners.register("iid", "uniform shuffle, sizes differing by at most one")
def _iid_parts(request: PartitionRequest) -> tuple[Parts, Parts]:
    """A shuffled split of the train (and, separately, the test) indices."""
    test = request.test_labels
    return (_iid(len(request.train_labels), request.num_users, request.rng("train")),
            [] if test is None else _iid(len(test), request.num_users, request.rng("test")))


def _iid(n: int, num_users: int, rng: np.random.Generator) -> Parts:
    return list(np.array_split(rng.permutation(n).astype(np.int64), num_users))


ShareDrawer = Callable[[np.random.Generator], np.ndarray]


def class_shares(factory: Callable[[PartitionRequest, np.ndarray], ShareDrawer]) -> Partitioner:
    """A partitioner from ``factory(request, classes) -> draw(rng) -> P``.

    ``classes`` are the distinct training labels (``C`` of them); ``draw`` returns
    ``P`` of shape ``(C, num_users)``, row ``c`` the shares of class ``c`` (summing to
    1, or all 0 for a class nobody gets). ``P`` is redrawn (up to 1000 times) until
    every user gets ``min_size`` training images and one test image; the same ``P``
    deals the train and the test images, so each user's test split follows its
    training distribution. The factory checks its settings and raises ``DataError``.
    """

    @functools.wraps(factory)
    def partitioner(request: PartitionRequest) -> tuple[Parts, Parts]:
        train, test = request.train_labels, request.test_labels
        classes = np.unique(train)
        draw = factory(request, classes)
        train_sizes = _class_sizes(train, classes)
        test_sizes = None if test is None else _class_sizes(test, classes)
        p_rng = request.rng("proportions")
        for _ in range(_MAX_ATTEMPTS):
            proportions = draw(p_rng)
            if _counts(train_sizes, proportions).min() < request.min_size:
                continue
            if test_sizes is not None and _counts(test_sizes, proportions).min() < 1:
                continue
            break
        else:
            raise DataError(_failure(request.kind, len(train), request.num_users, request.alpha,
                                     request.classes_per_user, request.min_size, test is not None))
        train_parts = _split(train, classes, proportions, request.rng("train"))
        if test is None:
            return train_parts, []
        dropped = int(np.sum(~np.isin(test, classes)))
        if dropped:
            log.warning("partition: %d test images have classes absent from the training labels; none get them",
                        dropped)
        return train_parts, _split(test, classes, proportions, request.rng("test"))

    return partitioner


@partitioners.register("dirichlet", "per-class shares drawn from Dirichlet(alpha): label skew")
@class_shares
def _dirichlet(request: PartitionRequest, classes: np.ndarray) -> ShareDrawer:
    """Each class shared among users with proportions drawn from ``Dirichlet(alpha)``."""
    alpha, num_users = request.alpha, request.num_users
    if not np.isfinite(alpha) or alpha <= 0:
        raise DataError(f"dirichlet alpha {alpha!r} is not allowed; allowed: a finite number > 0")
    return lambda rng: rng.dirichlet(np.full(num_users, float(alpha)), size=len(classes))


@partitioners.register("classes", "each user holds classes_per_user classes, dealt round-robin")
@class_shares
def _classes(request: PartitionRequest, classes: np.ndarray) -> ShareDrawer:
    """Each user holds ``classes_per_user`` classes; a class is split equally among its holders."""
    num_classes, num_users, classes_per_user = len(classes), request.num_users, request.classes_per_user
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


@partitioners.register("source", "each class (photograph, site) whole to one user, or shared when users outnumber them")
@class_shares
def _source(request: PartitionRequest, classes: np.ndarray) -> ShareDrawer:
    """Labels are sources; each goes whole to one user (or is shared when users outnumber them)."""
    num_classes, num_users = len(classes), request.num_users

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
    setting = {"classes": f" (classes_per_user={classes_per_user})", "source": " (one source per user)"}.get(kind, "")
    return (f"{kind} partition{setting} of {n} images among {num_users} users cannot give every user "
            f"{min_size} images{test}; allowed: fewer users or smaller min_size")
