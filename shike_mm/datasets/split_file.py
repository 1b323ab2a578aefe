"""Reading ``relative/path label`` split files with line-accurate errors."""
from typing import List, NamedTuple, Optional

import numpy as np
from mmengine.fileio import get_text


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
    image root.

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
    return entries


def count_training_labels(path: str, labels: np.ndarray,
                          num_classes: int) -> List[int]:
    """Per-class image counts of a training split, which must cover every
    class.

    Args:
        path (str): The training split file, named in errors.
        labels (np.ndarray): Its labels.
        num_classes (int): Number of classes.

    Returns:
        list[int]: ``num_classes`` counts.

    Raises:
        SplitFileError: If a class has no training image.
    """
    counts = np.bincount(labels, minlength=num_classes)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        shown = ', '.join(str(c) for c in empty[:10])
        if len(empty) > 10:
            shown += f' and {len(empty) - 10} more'
        subject = f'class {shown} has' if len(empty) == 1 \
            else f'classes {shown} have'
        raise SplitFileError(
            path, f'{subject} zero training images; every class in '
            f'[0, {num_classes}) needs at least one')
    return counts.tolist()


def read_training_counts(path: str, num_classes: int) -> List[int]:
    """Per-class image counts read from a training split file.

    Args:
        path (str): The training split file.
        num_classes (int): Number of classes.

    Returns:
        list[int]: ``num_classes`` counts, all positive.
    """
    labels = np.array([e.label for e in read_split_file(path, num_classes)])
    return count_training_labels(path, labels, num_classes)
