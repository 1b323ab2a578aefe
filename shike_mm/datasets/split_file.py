"""Reading ``relative/path label`` split files with line-accurate errors."""
import logging
import sys
from collections import defaultdict
from typing import List, NamedTuple, Optional

import numpy as np
from mmengine.fileio import get_text
from mmengine.logging import print_log

from .class_counts import empty_classes_message

#: Line numbers the duplicated-entries WARNING lists before "and N more".
SHOWN_LINES = 5


class SplitFileError(ValueError):
    """A split file that cannot be used as it is.

    The message names the file and, when one line is at fault, its 1-based
    line number: ``"<file>, line <n>: <reason>"``.

    Args:
        path (str): The split file.
        reason (str): What is wrong.
        line_no (int, optional): 1-based line number of the faulty line.
    """

    def __init__(self, path: str, reason: str, line_no: Optional[int] = None):
        where = path if line_no is None else f'{path}, line {line_no}'
        super().__init__(f'{where}: {reason}')
        self.path = path
        self.line_no = line_no


class SplitEntry(NamedTuple):
    """One sample of a split file."""
    rel_path: str
    label: int
    line_no: int


def read_split_file(path: str, num_classes: int) -> List[SplitEntry]:
    """Parse a split file whose lines read ``relative/path label``.

    Blank lines are skipped. A leading ``/`` in a path is dropped, so
    Places365-style ``/a/airfield/00000001.jpg`` entries stay relative to the
    image root. A path listed more than once is kept as often as it is
    listed, with a WARNING that gives the count.

    Args:
        path (str): The split file (any MMEngine file backend).
        num_classes (int): Labels must lie in ``[0, num_classes)``.

    Returns:
        list[SplitEntry]: The samples in file order.

    Raises:
        SplitFileError: On a malformed line, a label out of range or a split
            without samples.
    """
    entries = []
    for line_no, line in enumerate(get_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise SplitFileError(
                path, f'expected "relative/path label", got {line!r}', line_no)
        rel_path, label_text = fields
        try:
            label = int(label_text)
        except ValueError:
            raise SplitFileError(path,
                                 f'label {label_text!r} is not an integer',
                                 line_no) from None
        if not 0 <= label < num_classes:
            raise SplitFileError(
                path, f'label {label} is out of range [0, {num_classes})',
                line_no)
        entries.append(SplitEntry(rel_path.lstrip('/'), label, line_no))
    if not entries:
        raise SplitFileError(path, 'the split is empty (no "path label" '
                             'lines)')
    _warn_duplicates(path, entries)
    return entries


def _warn_duplicates(path: str, entries: List[SplitEntry]) -> None:
    lines_of = defaultdict(list)
    for entry in entries:
        lines_of[entry.rel_path].append(entry.line_no)
    repeated = {p: lines for p, lines in lines_of.items() if len(lines) > 1}
    if not repeated:
        return
    extra = sum(len(lines) - 1 for lines in repeated.values())
    first, lines = next(iter(repeated.items()))
    shown = ', '.join(map(str, lines[:SHOWN_LINES]))
    if len(lines) > SHOWN_LINES:
        shown += f' and {len(lines) - SHOWN_LINES} more'
    print_log(
        f'{path}: {extra} duplicated entries ({len(repeated)} paths listed '
        f'more than once, e.g. {first!r} on lines {shown}); each is used as '
        'often as it is listed',
        logger='current',
        level=logging.WARNING)


def read_training_counts(path: str,
                         num_classes: Optional[int] = None) -> List[int]:
    """Per-class image counts read from a training split file.

    Args:
        path (str): The training split file.
        num_classes (int, optional): Number of classes. Defaults to None
            (up to the largest label in the file).

    Returns:
        list[int]: One positive count per class.

    Raises:
        SplitFileError: If a class has no training image.
    """
    entries = read_split_file(path, num_classes or sys.maxsize)
    labels = np.array([e.label for e in entries])
    counts = np.bincount(labels, minlength=num_classes or 0)
    problem = empty_classes_message(counts)
    if problem:
        raise SplitFileError(path, problem)
    return counts.tolist()
