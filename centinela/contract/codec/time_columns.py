"""RFC 3339 times of a whole batch read at once: a few numpy calls instead of a regular
expression, a ``datetime`` and its ``isoformat`` per text.

:func:`instants` reads the forms producers send in practice (``YYYY-MM-DDTHH:MM:SS``, 1 to 6
fraction digits, ``Z`` or a ``+HH:MM`` offset, years 1900-2200) and gives, for each, exactly
what :func:`~centinela.contract.codec.aware_time` then ``timestamp()`` and ``isoformat()`` give.
Anything else (another form, an impossible date, a year outside the range) comes back as None,
for the caller to read one by one as before: declining is always safe. The years keep every
instant's microseconds below 2**53, so the timestamp is the one Python's integer division
gives. tests/centinela/contract/test_time_columns.py holds it to ``datetime``.

>>> moments, texts = instants(["2026-01-01T00:00:00.5Z", "2026-01-01T01:00:00+01:00", "soon"])
>>> moments
[1767225600.5, 1767225600.0, None]
>>> texts
['2026-01-01T00:00:00.500000+00:00', '2026-01-01T01:00:00+01:00', None]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from centinela.contract.codec.fast_decoders import aware_time

SHORTEST, LONGEST = 20, 32  # "YYYY-MM-DDTHH:MM:SSZ" .. "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM"
FIRST_YEAR, LAST_YEAR = 1900, 2200
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


# Below this many texts numpy's set-up (about 250 us a call) costs more than reading each text
# on its own (about 2.5 us): 100 texts take the same time either way.
BATCH_FROM = 100


def read_times(texts: Sequence[str]) -> tuple[list[float | None], list[str | None]]:
    """:func:`instants` for a batch that pays for numpy's set-up, else each text read by
    :func:`~centinela.contract.codec.aware_time`: the same values where both read a text (a
    text that :func:`instants` declines is the caller's to read with ``aware_time`` anyway).

    >>> read_times(["2026-01-01T01:00:00+01:00", "soon"])
    ([1767225600.0, None], ['2026-01-01T01:00:00+01:00', None])
    """
    if len(texts) >= BATCH_FROM:
        return instants(texts)
    read = [aware_time(text) for text in texts]
    return (
        [None if moment is None else moment.timestamp() for moment in read],
        [None if moment is None else moment.isoformat() for moment in read],
    )


def instants(texts: Sequence[str]) -> tuple[list[float | None], list[str | None]]:
    """Each text's POSIX timestamp and ``isoformat()`` text; None for both where declined."""
    moments: list[float | None] = [None] * len(texts)
    isoformats: list[str | None] = [None] * len(texts)
    chosen = [i for i, text in enumerate(texts) if SHORTEST <= len(text) <= LONGEST]
    if not chosen:
        return moments, isoformats
    picked = [texts[i] for i in chosen]
    # One row of code points per text, zero-padded to LONGEST (the lengths bound the memory).
    codes = np.array(picked, dtype=f"<U{LONGEST}").view(np.uint32).reshape(len(picked), LONGEST)
    codes = codes.astype(np.int64)
    rows = np.arange(len(picked))
    length = np.fromiter(map(len, picked), dtype=np.int64, count=len(picked))
    digit = codes - ord("0")
    is_digit = (digit >= 0) & (digit <= 9)
    ok = is_digit[:, _DIGITS].all(axis=1)
    for column, char in _SEPARATORS.items():
        ok &= codes[:, column] == ord(char)
    # The zone: "Z", or a sign, two digits, ":" and two digits at the end.
    utc = codes[rows, length - 1] == ord("Z")
    sign_at = np.maximum(length - 6, 0)
    sign = codes[rows, sign_at]
    offset_ok = ((sign == ord("+")) | (sign == ord("-"))) & (codes[rows, sign_at + 3] == ord(":"))
    for shift in (1, 2, 4, 5):
        offset_ok &= is_digit[rows, sign_at + shift]
    ok &= utc | offset_ok
    # Between the seconds and the zone: nothing, or "." and 1 to 6 digits.
    fraction_end = length - np.where(utc, 1, 6)
    fraction_length = fraction_end - 19
    columns = np.arange(LONGEST)
    in_fraction = (columns >= 20) & (columns < fraction_end[:, None])
    ok &= (fraction_length == 0) | (
        (codes[:, 19] == ord(".")) & (fraction_length >= 2) & (fraction_length <= 7)
    )
    ok &= ~(in_fraction & ~is_digit).any(axis=1)

    def number(*positions: int) -> np.ndarray:
        value = np.zeros(len(picked), dtype=np.int64)
        for position in positions:
            value = value * 10 + digit[:, position]
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    micros = np.where(in_fraction[:, 20:26], digit[:, 20:26], 0) @ (10 ** np.arange(5, -1, -1))
    offset_hours = digit[rows, sign_at + 1] * 10 + digit[rows, sign_at + 2]
    offset_minutes = digit[rows, sign_at + 4] * 10 + digit[rows, sign_at + 5]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (year >= FIRST_YEAR) & (year <= LAST_YEAR) & (month >= 1) & (month <= 12)
    ok &= (day >= 1) & (day <= month_days) & (hour < 24) & (minute < 60) & (second < 60)
    ok &= utc | ((offset_hours < 24) & (offset_minutes < 60))
    offset = np.where(utc, 0, (offset_hours * 3600 + offset_minutes * 60))
    offset = np.where(sign == ord("-"), -offset, offset)
    seconds = _days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    stamps = ((seconds - offset) * 1_000_000 + micros) / 1e6
    six_digits, zero_zone = (fraction_length == 7).tolist(), (offset == 0).tolist()
    good = zip(ok.tolist(), stamps.tolist(), micros.tolist(), zero_zone, six_digits, strict=True)
    for row, (valid, stamp, micro, utc_zone, six) in enumerate(good):
        if not valid:
            continue
        text = picked[row]
        # isoformat prints six fraction digits, none for a whole second, and +00:00 for UTC.
        fraction = "" if not micro else text[19:26] if six else "." + format(micro, "06d")
        at = chosen[row]
        moments[at] = stamp
        isoformats[at] = text[:19] + fraction + ("+00:00" if utc_zone else text[-6:])
    return moments, isoformats


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil)."""
    year = year - (month <= 2)
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    of_cycle = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    result: np.ndarray = era * 146097 + of_cycle - 719468
    return result
